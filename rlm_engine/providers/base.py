"""The one small interface every model provider implements."""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal, TypedDict

from rlm_engine.events import Usage


class Message(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Completion:
    """A model's reply to one call, with the usage the provider reported.

    `tokens_per_s`: output tokens per second of generation, as the server measured it (llama.cpp)
    or as timed here; `first_token_s`: seconds until the first streamed token (streaming only).
    """

    text: str
    usage: Usage
    model: str
    tokens_per_s: float | None = None
    first_token_s: float | None = None


OnText = Callable[[str], None]
"""Called with each piece of a streamed reply, in order, from the thread making the call."""


_ABANDONED: ContextVar[threading.Event | None] = ContextVar("rlm_call_abandoned", default=None)


def abandoned() -> threading.Event | None:
    """Set once the engine has stopped waiting for the call this thread is making (a budget ran
    out, the user stopped the run). A provider that can stop its work early looks at it: the
    local model otherwise goes on writing an abandoned reply for minutes, and the next run's
    calls wait behind it."""
    return _ABANDONED.get()


def watch_abandoned(flag: threading.Event) -> None:
    """Mark `flag` as the abandon signal of the calls this thread makes."""
    _ABANDONED.set(flag)


class StreamClock:
    """Times one streamed call: when it started, when its first piece came."""

    def __init__(self, on_text: OnText | None) -> None:
        self.on_text = on_text
        self.started = time.monotonic()
        self.first: float | None = None

    def piece(self, text: str | None) -> None:
        if not text:
            return
        if self.first is None:
            self.first = time.monotonic() - self.started
        if self.on_text is not None:
            self.on_text(text)

    def tokens_per_s(self, output_tokens: int) -> float | None:
        """Generation speed: output tokens over the time from the first piece to now."""
        generating = time.monotonic() - self.started - (self.first or 0.0)
        if output_tokens <= 1 or generating <= 0:
            return None
        return output_tokens / generating


class Provider(ABC):
    """Turns chat messages into one completion.

    Implementations map their SDK's errors once, here: `ProviderAuthError` for a missing or refused
    key, `ProviderUnavailable` once retries (429, 5xx, timeouts, connection errors) are spent,
    `ProviderError` otherwise. They must be safe to call from several threads at once.

    `on_text`: stream the reply, handing each piece to it as it comes. `conversation`: a key for
    a conversation that goes on (the root's turns): the provider marks its prefix for caching
    where the API needs that (Anthropic's cache_control breakpoints; OpenAI and llama.cpp reuse
    a repeated prefix by themselves); one-off calls (sub-calls) pass None.
    """

    name: str
    model: str

    @abstractmethod
    def complete(
        self,
        messages: list[Message],
        *,
        stop: list[str] | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        on_text: OnText | None = None,
        conversation: str | None = None,
    ) -> Completion: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the provider is not used afterwards."""
