"""What a database can take: valid UTF-8 text.

An event may carry lone surrogates (model code printed `json.loads('"\\ud83d"')`, a file name was
decoded with surrogateescape); SQLite and PostgreSQL refuse them, and the whole event would be
lost. They become U+FFFD here (storage keeps its own copy of this rule: it imports no engine
internals).
"""

from __future__ import annotations

from typing import Any


def storable_text(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD (free for text that is valid)."""
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
