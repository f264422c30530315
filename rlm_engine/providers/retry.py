"""Bounded retries with backoff, and the one mapping of SDK errors to engine errors.

Both official SDKs share one exception shape (`APIStatusError`, `APIConnectionError` and its
`APITimeoutError`), so one function maps either SDK's errors, given the SDK module. The SDKs' own
retries are switched off: here we count attempts, cap Retry-After, and say what happened.

    transient (another try may work)  429, 408, 409, 5xx, timeouts, connection errors
    ProviderAuthError (never retried) 401, 403
    ProviderError                     any other 4xx, with the provider's message
    ProviderUnavailable               transient failures past the retry budget
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TypeVar

from rlm_engine.errors import ProviderAuthError, ProviderError, ProviderUnavailable
from rlm_engine.redact import redact

T = TypeVar("T")

NO_KEY_NEEDED = "not-needed"  # placeholder key for local OpenAI-compatible servers (vLLM, Ollama)
_TRANSIENT_STATUS = {408, 409, 429}


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait. Defaults: 3 retries, ~0.5, 1, 2 s apart (a dead endpoint
    fails in seconds); Retry-After is honoured up to `max_retry_after_s`."""

    max_retries: int = 3
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    max_retry_after_s: float = 5.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (0-based)."""
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.max_retry_after_s)
        ceiling = min(self.max_backoff_s, self.backoff_s * 2**attempt)
        return ceiling * random.uniform(0.5, 1.0)  # jitter: parallel sub-calls do not retry in step


class Transient(Exception):
    """A failure another try may fix. `reason` is short ("answered 500"), `detail` the message."""

    def __init__(self, reason: str, detail: str = "", retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail
        self.retry_after = retry_after


def call_with_retries(attempt: Callable[[], T], policy: RetryPolicy, where: str) -> T:
    """Run `attempt` until it returns, raises a non-transient error, or retries are spent."""
    failures: list[Transient] = []
    for n in range(policy.max_retries + 1):
        try:
            return attempt()
        except Transient as exc:
            failures.append(exc)
            if n < policy.max_retries:
                time.sleep(policy.delay(n, exc.retry_after))
    raise ProviderUnavailable(_unavailable_message(where, failures))


def _unavailable_message(where: str, failures: list[Transient]) -> str:
    reasons = list(dict.fromkeys(f.reason for f in failures))
    times = "once" if len(failures) == 1 else f"{len(failures)} times"
    what = (
        f"{reasons[0]} {times}" if len(reasons) == 1 else f"failed {times} ({', '.join(reasons)})"
    )
    last = failures[-1]
    detail = f": {last.detail}" if last.detail else ""
    return f"{where} {what}{detail}. {_hint(last.reason)}"


def _hint(reason: str) -> str:
    if reason == "timed out":
        return "Try again, or raise the request timeout if answers take long."
    if reason == "could not be reached":
        return "Check the base URL and that the server is running."
    if reason == "answered 429":
        return "The provider is rate-limiting: wait a minute, or lower the concurrency."
    return "The provider is failing: try again later."


def map_sdk_error(
    exc: Exception, sdk: ModuleType, where: str, key_hint: str, timeout_s: float | None = None
) -> Exception:
    """The engine error (or `Transient`) for one SDK exception. `key_hint` says where keys go."""
    if isinstance(exc, sdk.APITimeoutError):
        within = f"{timeout_s:g} s" if timeout_s else "the request timeout"
        return Transient("timed out", f"no answer within {within}")
    if isinstance(exc, sdk.APIConnectionError):
        cause = exc.__cause__ or exc
        return Transient("could not be reached", redact(f"{type(cause).__name__}: {cause}"))
    if not isinstance(exc, sdk.APIStatusError):
        return ProviderError(f"{where} failed: {redact(str(exc))}")
    status = exc.status_code
    detail = provider_message(exc)
    if status in (401, 403):
        return ProviderAuthError(f"{where} refused the API key ({status}: {detail}). {key_hint}")
    if status in _TRANSIENT_STATUS or status >= 500:
        return Transient(f"answered {status}", detail, retry_after_s(exc.response.headers))
    return ProviderError(f"{where} rejected the request ({status}): {detail}")


def broken_stream(exc: Exception) -> Transient | None:
    """A streamed reply cut off midway (the SDKs let httpx's errors through while iterating)."""
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return Transient("timed out", "the reply stopped coming")
    if isinstance(exc, httpx.TransportError):
        return Transient("could not be reached", redact(f"{type(exc).__name__}: {exc}"))
    return None


def provider_message(exc: Any) -> str:
    """The provider's own error message from an `APIStatusError`, redacted and kept short."""
    body = exc.body
    message = None
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        message = inner.get("message")
    return redact(str(message or exc.message))[:500]


def retry_after_s(headers: Any) -> float | None:
    """Seconds from `retry-after-ms` or `retry-after` (seconds only; dates are ignored)."""
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return float(value) / divisor
        except ValueError:
            continue
    return None
