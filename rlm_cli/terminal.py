"""Text the model (or a stored run) controls, made harmless for a terminal.

A reply can hold escape sequences: OSC 52 writes the clipboard, OSC 8 hides a link's address,
cursor moves and erase-line overwrite what was printed before (forging, say, a line "all tests
passed"), NUL and bidi overrides hide text. Every model-controlled string that `rlm ask`,
`rlm runs` and `rlm chat` print goes through `for_terminal`; newlines and tabs stay.
"""

from __future__ import annotations

import re

from rlm_engine.text import valid_text

# C0 controls but tab and newline, DEL, C1 controls (0x9b is a one-byte CSI), and the Unicode
# bidi overrides and isolates that reorder what a line shows.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# Inside JSON strings (json.dumps escapes C0 itself; with ensure_ascii=False the rest stay raw).
_RAW_IN_JSON = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def for_terminal(text: str | None) -> str:
    """`text` with every control character shown as a visible escape (`\\x1b`, `\\x00`),
    Windows line ends as plain newlines, lone surrogates as U+FFFD."""
    if not text:
        return ""
    return _CONTROL.sub(_escape, valid_text(text).replace("\r\n", "\n"))


def json_for_terminal(encoded: str) -> str:
    """A JSON document (from `json.dumps(..., ensure_ascii=False)`) with the control characters
    JSON leaves raw written as `\\u` escapes: the same JSON value, nothing for a terminal to
    obey."""
    return _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group(0)):04x}", encoded)
