"""A tiny PDF writer: real, valid PDFs with text pages, without a drawing library.

Pages show their lines in Helvetica (a standard font, nothing embedded); cross-reference offsets
are computed, so readers open the file without repairing it. Text must be Latin-1 (cp1252).
`text_pdf` and `write_pdf` are the parts the test kit's PDFs (rlm_testkit/pdf.py) build on.
"""

from __future__ import annotations

import io

HEADER = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"  # the binary comment marks the file as binary
HELVETICA = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"


def escape(line: str) -> str:
    """A line as a PDF string literal's body."""
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _content(text: str) -> bytes:
    ops = ["BT", "/F1 10 Tf", "12 TL", "54 750 Td"]
    for i, line in enumerate(text.split("\n")):
        if i:
            ops.append("T*")
        ops.append(f"({escape(line)}) Tj")
    ops.append("ET")
    return "\n".join(ops).encode("cp1252")


def make_pdf(pages: list[str]) -> bytes:
    """A PDF with one page per item, its lines split on newlines."""
    return text_pdf([_content(text) for text in pages])


def text_pdf(contents: list[bytes]) -> bytes:
    """A PDF with one letter-size page per content stream, font `/F1` being Helvetica."""
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, filled in once the page ids are known
        HELVETICA,
    ]
    kids = []
    for stream in contents:
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        content_id = len(objects)
        objects.append(
            (
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                f"/Resources << /Font << /F1 3 0 R >> >> /Contents {content_id} 0 R >>"
            ).encode()
        )
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(contents)} >>".encode()
    return write_pdf(objects)


def write_pdf(objects: list[bytes], header: bytes = HEADER) -> bytes:
    """The file holding `objects` (numbered from 1, object 1 the catalog), its cross-reference
    table and trailer."""
    out = io.BytesIO()
    out.write(header)
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (i, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()
