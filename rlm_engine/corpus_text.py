"""A text file's bytes -> its text, or a clear refusal when the bytes are not text.

UTF-8 (a byte-order mark is an encoding, not text) with undecodable bytes replaced, as the
contract says; UTF-16 and UTF-32 by their byte-order mark, and UTF-16 without one by the pattern of
its NUL bytes (ASCII-range text has every other byte zero). Anything else with NUL bytes, or whose
decoded text is mostly replacement or control characters, is binary (or another encoding): it is
skipped with a notice naming the file rather than loaded as garbage.
"""

from __future__ import annotations

import re

from rlm_engine.documents import FileProblem

__all__ = ["GARBLED_SHARE", "decode_text"]

_SNIFF = 65536
_BOMS = (  # longest first: a UTF-32-LE BOM starts with the UTF-16-LE one
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
GARBLED_SHARE = 0.10
"""Past this share of replacement or control characters (and more than `_FEW` of them), the bytes
are not text in the encoding tried (random bytes read as UTF-8 give about half)."""
_FEW = 8
_BAD = re.compile(r"[\ufffd\x00-\x08\x0e-\x1f\x7f]")


def _garbled(text: str) -> float:
    """The share of replacement and control characters in the head of `text` (0 for a few)."""
    sample = text[:_SNIFF]
    bad = len(_BAD.findall(sample))
    return bad / len(sample) if bad > _FEW else 0.0


def _utf16_without_bom(head: bytes) -> str | None:
    """'utf-16-le' or 'utf-16-be' when NUL bytes sit at one parity only, as in UTF-16 text."""
    n = len(head) // 2 * 2
    if n < 4:
        return None
    even, odd = head[0:n:2].count(0) / (n // 2), head[1:n:2].count(0) / (n // 2)
    if odd > 0.3 and even < 0.02:
        return "utf-16-le"
    if even > 0.3 and odd < 0.02:
        return "utf-16-be"
    return None


def _not_text(name: str, why: str) -> FileProblem:
    return FileProblem(
        name,
        f"{name} does not look like text ({why}): skipped. If it is text, save it as UTF-8; "
        "otherwise convert it to text or PDF to include it.",
    )


def decode_text(name: str, data: bytes) -> tuple[str | None, list[FileProblem]]:
    """The text of a file read as text, with notes; None and the reason when it is not text."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = data.decode(encoding, errors="replace")
            if _garbled(text) > GARBLED_SHARE:
                return None, [_not_text(name, f"{encoding.upper()} by its byte-order mark, "
                                        "but most characters do not decode")]  # fmt: skip
            return text, []
    head = data[:_SNIFF]
    notes: list[FileProblem] = []
    if b"\x00" in head:
        encoding = _utf16_without_bom(head)
        if encoding is None:
            return None, [_not_text(name, "it holds NUL bytes: a binary file?")]
        text = data.decode(encoding, errors="replace")
        notes.append(
            FileProblem(
                name,
                f"{name} was read as {encoding.upper()} (no byte-order mark; its NUL bytes say "
                "so).",
                fatal=False,
            )
        )
    else:
        text = data.decode("utf-8", errors="replace")
    share = _garbled(text)
    if share > GARBLED_SHARE:
        return None, [_not_text(name, f"{share:.0%} of its characters are undecodable or "
                                "control characters: a binary file, or not UTF-8")]  # fmt: skip
    return text, notes
