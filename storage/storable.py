"""What a database can take: valid UTF-8 text, of bounded size per field.

An event may carry lone surrogates (model code printed `json.loads('"\\ud83d"')`, a file name was
decoded with surrogateescape); SQLite and PostgreSQL refuse them, and the whole event would be
lost. They become U+FFFD here (storage keeps its own copy of this rule: it imports no engine
internals). And no text field of an event is stored beyond MAX_STORED_CHARS: a 500 MB answer
would otherwise grow the database by gigabytes; what is cut says the full length.
"""

from __future__ import annotations

from typing import Any

MAX_STORED_CHARS = 2_000_000
"""One text field of one event is stored up to this many characters (above the engine's answer
cap of 1,000,000, so a cut answer keeps its own marker)."""


def storable_text(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD (free for text that is valid), cut
    to MAX_STORED_CHARS with a marker that records its full length."""
    if len(text) > MAX_STORED_CHARS:
        marker = f"\n... [not stored: {len(text) - MAX_STORED_CHARS:,} more characters; "
        text = storable_text(text[:MAX_STORED_CHARS]) + marker + f"full length {len(text):,}]"
        return text
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def storable(value: Any) -> Any:
    """`storable_text` on every string of a JSON-like value (dict keys included)."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    return value
