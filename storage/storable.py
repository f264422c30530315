"""What a database can take: valid UTF-8 text, of bounded size per field.

An event may carry lone surrogates (model code printed `json.loads('"\\ud83d"')`, a file name was
decoded with surrogateescape); SQLite and PostgreSQL refuse them, and the whole event would be
lost. They become U+FFFD here (the engine's rule, `rlm_engine.text.valid_text`). And no text
field of an event is stored beyond MAX_STORED_CHARS: a 500 MB answer would otherwise grow the
database by gigabytes; what is cut says the full length.
"""

from __future__ import annotations

from typing import Any

from rlm_engine.text import map_text, valid_text

MAX_STORED_CHARS = 2_000_000
"""One text field of one event is stored up to this many characters (above the engine's answer
cap of 1,000,000, so a cut answer keeps its own marker)."""


def storable_text(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD (free for text that is valid), cut
    to MAX_STORED_CHARS with a marker that records its full length."""
    if len(text) > MAX_STORED_CHARS:
        marker = f"\n... [not stored: {len(text) - MAX_STORED_CHARS:,} more characters; "
        return valid_text(text[:MAX_STORED_CHARS]) + marker + f"full length {len(text):,}]"
    return valid_text(text)


def storable(value: Any) -> Any:
    """`storable_text` on every string of a JSON-like value (dict keys included)."""
    return map_text(value, storable_text)
