"""PDFs for tests and benchmarks: text pages, pages without text, kerned lines, encrypted files
and decompression bombs. Built on the evaluation's PDF writer (rlm_eval/pdf_writer.py).

A page given as `None` draws a filled rectangle and no text, as a scanned page would look to a
text extractor.
"""

from __future__ import annotations

import io
import zlib

from rlm_eval.pdf_writer import escape, text_pdf, write_pdf


def _show(line: str, kerned: bool) -> str:
    if not kerned:
        return f"({escape(line)}) Tj"
    # As typesetters write it: one string per word, spacing adjusted between them.
    words = " ".join(f"({escape(word)})" for word in line.split(" "))
    return f"[{words.replace(') (', ') -250 (')}] TJ"


def _content(text: str | None, kerned: bool = False) -> bytes:
    if text is None:
        return b"0.5 g 72 72 400 600 re f"
    ops = ["BT", "/F1 12 Tf", "14 TL", "72 740 Td"]
    for i, line in enumerate(text.split("\n")):
        if i:
            ops.append("T*")
        ops.append(_show(line, kerned))
    ops.append("ET")
    return "\n".join(ops).encode("cp1252")


def make_pdf(pages: list[str | None], *, kerned: bool = False) -> bytes:
    """A PDF with one page per item: its text (lines split on "\\n"), or None for no text.

    `kerned` writes each line as a TJ array of words, as real typesetters do (slower to extract).
    """
    return text_pdf([_content(text, kerned) for text in pages])


def encrypt_pdf(
    data: bytes, user_password: str, owner_password: str = "owner", algorithm: str = "RC4-128"
) -> bytes:
    """The same PDF encrypted (RC4-128 by default; "AES-256" needs the cryptography package)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password, owner_password, algorithm=algorithm)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def bomb_pdf(n_chars: int, pages: int = 1) -> bytes:
    """A small PDF whose Flate-compressed content streams inflate to `n_chars` characters of
    text in all (split over `pages` pages): a decompression bomb for text extractors."""
    line = b"(" + b"A" * 1000 + b") Tj T*\n"
    per_page = max(1, n_chars // 1000 // pages)
    stream = zlib.compress(b"BT /F1 1 Tf 1 TL 0 700 Td\n" + line * per_page + b"ET", 9)
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    kids = []
    for _ in range(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>"
        )
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {pages} >>".encode()
    return write_pdf(objects, header=b"%PDF-1.4\n")
