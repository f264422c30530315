"""Text that can cross any boundary: lone surrogates become U+FFFD, errors lose their payloads.

Python strings may hold lone surrogates (`json.loads('"\\ud83d"')`, a file name decoded with
surrogateescape) that UTF-8 cannot encode, so an HTTP body, a database row or stdout would raise
`UnicodeEncodeError` on them. Every boundary (worker -> host, host -> provider, events -> storage,
CLI output) passes its text through `valid_text`, which is free for text that is already valid.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MAX_ERROR_CHARS = 2_000
"""An error message is cut here: an exception may quote a whole request body."""


def valid_text(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD (a surrogate pair is joined)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def map_text(value: Any, change: Callable[[str], str]) -> Any:
    """`change` applied to every string of a JSON-like value (dict keys included; a tuple
    becomes a list, as JSON would have it)."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {map_text(k, change): map_text(v, change) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [map_text(v, change) for v in value]
    return value


def valid_tree(value: Any) -> Any:
    """`valid_text` on every string of a JSON-like value (dict keys included)."""
    return map_text(value, valid_text)


def describe_error(exc: BaseException) -> str:
    """`Type: message` for a user, without the payload some exceptions carry (a UnicodeError's
    `repr` holds the whole string it failed on, e.g. a request body), and of bounded length."""
    if isinstance(exc, UnicodeError) and hasattr(exc, "reason"):
        where = getattr(exc, "start", None)
        text = f"{exc.reason}" + (f" (at position {where:,})" if isinstance(where, int) else "")
    else:
        text = str(exc)
    text = valid_text(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)
    if len(text) > MAX_ERROR_CHARS:
        text = text[:MAX_ERROR_CHARS] + f" ... [{len(text) - MAX_ERROR_CHARS:,} characters cut]"
    return text
