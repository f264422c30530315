"""The PDF extraction child: PDFium (and pypdf) run here, never in the host process.

A 34 KB PDF can inflate to 10 MB of text and PDFium then needs ~1.6 GB; a 680 KB one grew a
process to 22 GB. So the host (corpus_pdf.PdfReader) runs this module as a child process (one
serves a load and is kept warm for the next) under RLIMIT_AS, and gives each file a deadline; a bomb
ends only this process.

Protocol on stdin/stdout: the child says READY once its imports are done, then one file at a time:
    host -> child   u32 length + JSON {"name", "max_chars"}, then u64 length + the PDF's bytes
    child -> host   u32 length + JSON {"pages": [chars per page], "unreadable": [...],
                    "cut": bool, "problem": str | None}, then u64 length + the pages' text as
                    UTF-8 (surrogates passed through), concatenated
"""

from __future__ import annotations

import json
import os
import resource
import struct
import sys
from typing import BinaryIO

HEAD, BODY = struct.Struct(">I"), struct.Struct(">Q")  # the two length prefixes of a frame
READY = b"R"  # the child's first byte: imports done, waiting for files


def write_frame(out: BinaryIO, meta: dict, body: bytes) -> None:
    head = json.dumps(meta).encode()
    out.write(HEAD.pack(len(head)) + head + BODY.pack(len(body)))
    out.write(body)
    out.flush()


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise EOFError
    return data


def read_frame(stream: BinaryIO) -> tuple[dict, bytes]:
    (size,) = HEAD.unpack(_read_exact(stream, HEAD.size))
    meta = json.loads(_read_exact(stream, size))
    (size,) = BODY.unpack(_read_exact(stream, BODY.size))
    return meta, _read_exact(stream, size)


def extract(name: str, data: bytes, max_chars: int) -> tuple[dict, bytes]:
    """One PDF: PDFium first (stopping past `max_chars`), pypdf when PDFium cannot open it."""
    from rlm_engine.corpus_pdf import pdfium_pages, pypdf_pages
    from rlm_engine.documents import FileProblem

    pages = pdfium_pages(data, max_chars)
    if pages is None:
        read = pypdf_pages(name, data)
        if isinstance(read, FileProblem):
            return {"problem": read.message}, b""
        pages = read
    texts, unreadable = pages
    kept, total, cut = [], 0, False  # total counts the form feeds that will join the pages
    for text in texts:
        room = max_chars - total - (1 if kept else 0)
        if room < 0:
            cut = True
            break
        if len(text) > room:
            text, cut = text[:room], True
        total += len(text) + (1 if kept else 0)
        kept.append(text)
        if cut:
            break
    body = "".join(kept).encode("utf-8", "surrogatepass")
    return {"pages": [len(t) for t in kept], "unreadable": unreadable, "cut": cut}, body


def main() -> None:
    """Serve files until stdin closes. argv: the address-space cap in MB."""
    cap = int(sys.argv[1]) * 1024 * 1024
    for limit, value in ((resource.RLIMIT_AS, cap), (resource.RLIMIT_CORE, 0)):
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):  # e.g. macOS refuses some AS values: the deadline stays
            print(f"pdf_child: cannot set rlimit {limit}", file=sys.stderr)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever a library prints must not corrupt the protocol
    import pypdfium2  # noqa: F401  (loaded before "ready": a file's deadline is its own)

    import rlm_engine.corpus_pdf  # noqa: F401

    out.write(READY)
    out.flush()
    stdin = sys.stdin.buffer
    while True:
        try:
            meta, data = read_frame(stdin)
        except EOFError:
            return
        try:
            reply, body = extract(meta["name"], data, int(meta["max_chars"]))
        except MemoryError:
            reply, body = {"memory": True}, b""
        del data
        write_frame(out, reply, body)


if __name__ == "__main__":
    main()
