"""Text as matching sees it: letters and digits only, and the forms a printout takes.

A REPL output may hold corpus text as printed (`print(chunk)`), as a `repr()` (escaped newlines
and quotes: `['line one\\nline two']`), cut by the sandbox's truncation marker, or re-joined
(`" ".join(lines)`). Dropping everything but letters and digits makes whitespace, punctuation and
quoting irrelevant; escapes are undone in a second variant; the truncation marker separates
what it cut apart so that the two sides never read as one stretch.
"""

from __future__ import annotations

import re

CANON_DROP = re.compile(r"[\W_]+")
"""What the canonical form drops: everything that is not a letter or a digit."""

TRUNCATION = re.compile(r"\n?\.\.\. \[[\d,]+ characters truncated\] \.\.\.\n?")
"""The marker the sandbox (and the history) put where they cut an output."""

_ESCAPE = re.compile(
    r"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|N\{[^}]*\}|[0-7]{1,3}|[nrtfvab\\'\"])"
)


_ASCII_DROP = bytes(b for b in range(128) if not chr(b).isalnum())


def canonical(text: str) -> str:
    """Letters and digits only (ASCII text takes a fast path)."""
    if text.isascii():
        return text.encode("ascii").translate(None, _ASCII_DROP).decode("ascii")
    return CANON_DROP.sub("", text)


def unescape(text: str) -> str:
    """The text a `repr()` shows: escapes undone (an escaped control character is not a letter,
    so a space stands for it; an escaped letter stands for itself)."""

    def one(match: re.Match[str]) -> str:
        seq = match.group()
        if seq[1] in "xuU":
            try:
                char = chr(int(seq[2:], 16))
            except ValueError:
                return " "
            return char if char.isalnum() else " "
        return " "

    return _ESCAPE.sub(one, text)


def query_variants(text: str) -> list[str]:
    """The pieces of `text` to match: each side of a truncation marker, as written and, when it
    holds backslashes, with escapes undone."""
    pieces = [p for p in TRUNCATION.split(text) if p]
    out: list[str] = []
    for piece in pieces:
        out.append(piece)
        if "\\" in piece:
            out.append(unescape(piece))
    return out
