"""PDF bytes -> one `Document`: its pages' text joined by a form feed, page offsets kept.

PDFium (pypdfium2) extracts text 12-20x faster than pypdf on typeset PDFs, so it reads first; its
text is normalised to read like pypdf's (`normalise_pdfium_text`). pypdf reads what PDFium cannot
open, and says why a file cannot be read at all: a password, missing AES support, damage.

Both run in a child process (`PdfReader`, rlm_engine/pdf_child.py), one per load, with its address
space capped (`RLM_PDF_MEMORY_MB`, default 1024) and a deadline per file (`RLM_PDF_TIMEOUT_S`,
default 120): a decompression bomb ends that child and becomes a FileProblem; the host never
holds more than the (capped) text.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import os
import re
import select
import subprocess
import sys
import threading
import time

from rlm_engine.corpus_read import positive_env
from rlm_engine.documents import Document, FileProblem, cut_notice

__all__ = [
    "PdfReader",
    "normalise_pdfium_text",
    "pdfium_pages",
    "pypdf_pages",
    "read_pdf",
    "stop_idle",
]

DEFAULT_PDF_MEMORY_MB = 1024
DEFAULT_PDF_TIMEOUT_S = 120
START_TIMEOUT_S = 60.0  # the child's imports, before any file's deadline starts
_IDLE: list[tuple[int, subprocess.Popen]] = []  # (memory cap, child): kept warm between loads
_IDLE_LOCK = threading.Lock()
_MAX_IDLE = 1

Pages = tuple[list[str], list[int]]
"""Each page's text, and the 1-based numbers of pages that could not be read (left empty)."""

_PDFIUM_LOCK = threading.Lock()
"""PDFium is not thread-safe, not even across documents; Streamlit runs each session in a thread."""

_LINE_BREAKS = re.compile(r"\r\n?|[\f\v]")
# PDFium's hyphen codes (0xFFFE marks a hyphen that ended a line it then joined; 0x02 is a hyphen)
# and the other control characters it passes through (NUL ends some pages).
_HYPHENS = {"\ufffe": "-\n", "\x02": "-"}
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\ufffe\uffff]")


def normalise_pdfium_text(text: str) -> str:
    """PDFium's page text as pypdf would give it: `\\n` line ends, hyphens kept, no control chars.

    A form feed inside a page would read as a page break in `context`, so it becomes a newline.
    """
    text = _LINE_BREAKS.sub("\n", text)
    return _CONTROLS.sub(lambda m: _HYPHENS.get(m.group(), ""), text)


def read_pdf(name: str, data: bytes, sha256: str) -> tuple[Document | None, list[FileProblem]]:
    """Pages joined by \\f; encrypted, corrupt and image-only PDFs become problems."""
    if b"%PDF-" not in data[:1024]:
        return None, [
            FileProblem(
                name,
                f"{name} is not a PDF (no PDF header; perhaps another format saved as .pdf): "
                "export it again as PDF, or rename it to its real type.",
            )
        ]
    pages = pdfium_pages(data)
    if pages is None:
        read = pypdf_pages(name, data)
        if isinstance(read, FileProblem):
            return None, [read]
        pages = read
    doc, notes = _document(name, sha256, *pages)
    return (None if doc is None else dataclasses.replace(doc, data=data)), notes


class PdfReader:
    """The PDFs of one load, read in one child process (taken warm from the last load or started
    at the first PDF, restarted after a file killed it), each cut at `max_chars` characters."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self.memory_mb = positive_env("RLM_PDF_MEMORY_MB", DEFAULT_PDF_MEMORY_MB)
        self.timeout_s = positive_env("RLM_PDF_TIMEOUT_S", DEFAULT_PDF_TIMEOUT_S)
        self._child: subprocess.Popen | None = None

    def read(
        self, name: str, data: bytes, sha256: str
    ) -> tuple[Document | None, list[FileProblem]]:
        """The document, or the problem that stopped it; never raises for a bad file."""
        if b"%PDF-" not in data[:1024]:
            return read_pdf(name, data, sha256)  # says: not a PDF
        from rlm_engine.pdf_child import write_frame

        try:
            child = self._start()
        except OSError as exc:
            return None, [FileProblem(name, f"{name}: the PDF extractor did not start ({exc}).")]
        deadline = time.monotonic() + self.timeout_s
        try:
            assert child.stdin is not None and child.stdout is not None
            write_frame(child.stdin, {"name": name, "max_chars": self.max_chars}, data)
            meta, body = _read_reply(child.stdout.fileno(), deadline, 4 * self.max_chars + 64)
        except TimeoutError:
            self._kill()
            return None, [self._problem(name, f"took longer than {self.timeout_s} s")]
        except (OSError, EOFError, ValueError):
            self._kill()
            return None, [self._problem(name, f"needed more than {self.memory_mb} MB")]
        if meta.get("memory"):
            self._kill()
            return None, [self._problem(name, f"needed more than {self.memory_mb} MB")]
        if meta.get("problem"):
            return None, [FileProblem(name, str(meta["problem"]))]
        text = body.decode("utf-8", "surrogatepass")
        texts, start = [], 0
        for length in meta["pages"]:
            texts.append(text[start : start + length])
            start += length
        doc, notes = _document(name, sha256, texts, list(meta["unreadable"]))
        if doc is not None:  # its bytes, to show its pages (sources highlighted)
            doc = dataclasses.replace(doc, data=data)
        if meta.get("cut") and doc is not None:
            notes.append(cut_notice(name, self.max_chars, None))
        return doc, notes

    def _problem(self, name: str, what: str) -> FileProblem:
        return FileProblem(
            name,
            f"{name}: extracting its text {what} and was stopped (a decompression bomb, or a "
            "very unusual PDF): skipped. Raise RLM_PDF_MEMORY_MB / RLM_PDF_TIMEOUT_S if you "
            "trust it.",
        )

    def _start(self) -> subprocess.Popen:
        if self._child is not None and self._child.poll() is None:
            return self._child
        with _IDLE_LOCK:
            while _IDLE:
                memory_mb, child = _IDLE.pop()
                if memory_mb == self.memory_mb and child.poll() is None:
                    self._child = child
                    return child
                _kill(child)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        }  # no keys: PDFium parses hostile bytes
        from rlm_engine.pdf_child import READY

        child = subprocess.Popen(
            [sys.executable, "-m", "rlm_engine.pdf_child", str(self.memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        assert child.stdout is not None
        try:
            if bytes(_recv(child.stdout.fileno(), 1, time.monotonic() + START_TIMEOUT_S)) != READY:
                raise EOFError
        except (OSError, EOFError) as exc:
            _kill(child)
            raise OSError(f"no sign of life within {START_TIMEOUT_S:g} s") from exc
        self._child = child
        return child

    def close(self) -> None:
        """The load is over: a healthy child waits for the next load, any other is killed."""
        child, self._child = self._child, None
        if child is None:
            return
        with _IDLE_LOCK:
            if child.poll() is None and len(_IDLE) < _MAX_IDLE:
                _IDLE.append((self.memory_mb, child))
                return
        _kill(child)

    def _kill(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            _kill(child)


def stop_idle() -> None:
    """Stop the warm extraction child kept between loads (it also exits when we do)."""
    with _IDLE_LOCK:
        idle = [child for _, child in _IDLE]
        _IDLE.clear()
    for child in idle:
        _kill(child)


def _kill(child: subprocess.Popen) -> None:
    """Killed, not asked: it may be stuck in a bomb."""
    child.kill()
    child.wait()
    for pipe in (child.stdin, child.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


def _read_reply(fd: int, deadline: float, max_body: int) -> tuple[dict, bytearray]:
    """One frame from the child, read by the deadline and never larger than the text cap allows
    (the child parses hostile bytes: its lengths are checked, not trusted)."""
    import json

    from rlm_engine.pdf_child import BODY, HEAD

    (size,) = HEAD.unpack(_recv(fd, HEAD.size, deadline))
    if size > 64 << 20:
        raise ValueError("reply header too large")
    meta = json.loads(_recv(fd, size, deadline))
    (size,) = BODY.unpack(_recv(fd, BODY.size, deadline))
    if size > max_body or not isinstance(meta, dict):
        raise ValueError("reply larger than the text cap")
    return meta, _recv(fd, size, deadline)


def _recv(fd: int, n: int, deadline: float) -> bytearray:
    """Exactly `n` bytes from `fd` by `deadline` (TimeoutError), or EOFError when it closes."""
    data = bytearray()
    while len(data) < n:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError
        chunk = os.read(fd, min(n - len(data), 1 << 20))
        if not chunk:
            raise EOFError
        data += chunk
    return data  # not copied to bytes: a body may be 4 bytes per character of the cap


def pdfium_pages(data: bytes, max_chars: int | None = None) -> Pages | None:
    """The pages read by PDFium, or None when it cannot open the file (pypdf then says why).
    With `max_chars`, no page is read once that many characters are in hand."""
    import pypdfium2 as pdfium

    with _PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError:
            return None
        try:
            texts: list[str] = []
            unreadable: list[int] = []
            total = 0
            for index in range(len(pdf)):
                if max_chars is not None and total > max_chars:
                    break
                try:
                    texts.append(normalise_pdfium_text(_pdfium_page_text(pdf, index)))
                    total += len(texts[-1])
                except Exception:  # one damaged page should not cost the others
                    texts.append("")
                    unreadable.append(index + 1)
            return texts, unreadable
        finally:
            pdf.close()


def _pdfium_page_text(pdf, index: int) -> str:
    page = pdf[index]
    try:
        textpage = page.get_textpage()
        try:
            return textpage.get_text_range()
        finally:
            textpage.close()
    finally:
        page.close()


def pypdf_pages(name: str, data: bytes) -> Pages | FileProblem:
    """The pages read by pypdf, or the problem that stops the whole file from being read."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    _quiet_pypdf()
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            return FileProblem(
                name,
                f"{name} is encrypted with a password: remove the password "
                "(e.g. print it to a new PDF) and load it again.",
            )
        pages = reader.pages
        n_pages = len(pages)
    except DependencyError:
        return FileProblem(
            name,
            f"{name} uses AES encryption, which needs the 'cryptography' package: "
            "install it, or save the PDF without encryption.",
        )
    except Exception as exc:  # pypdf raises many kinds on damaged files
        return FileProblem(
            name,
            f"{name} is not a readable PDF ({type(exc).__name__}: {str(exc)[:200]}): "
            "check that the file is complete, or export it again.",
        )
    texts: list[str] = []
    unreadable: list[int] = []
    for number in range(1, n_pages + 1):
        try:
            texts.append((pages[number - 1].extract_text() or "").replace("\f", "\n"))
        except Exception:  # one damaged page should not cost the others
            texts.append("")
            unreadable.append(number)
    return texts, unreadable


def _quiet_pypdf() -> None:
    """pypdf logs warnings on damaged files that our FileProblem already explains clearly.

    Only when the application has not set the "pypdf" logger's level itself.
    """
    logger = logging.getLogger("pypdf")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.ERROR)


def _document(
    name: str, sha256: str, texts: list[str], unreadable: list[int]
) -> tuple[Document | None, list[FileProblem]]:
    """Join the pages; no pages, no text at all, or some blank pages become problems or notes."""
    n_pages = len(texts)
    if n_pages == 0:
        return None, [FileProblem(name, f"{name} has no pages: nothing to load.")]
    empty = [n for n, text in enumerate(texts, start=1) if not text.strip()]
    if len(empty) == n_pages:
        return None, [
            FileProblem(
                name,
                f"{name} has no extractable text on any of its {n_pages} pages (scanned images?): "
                "run OCR on it first, then load the result.",
            )
        ]
    notes = []
    if unreadable:
        notes.append(
            FileProblem(
                name,
                f"{name}: pages {_ranges(unreadable)} could not be read and are left empty.",
                fatal=False,
            )
        )
    blank = [n for n in empty if n not in unreadable]
    if blank:
        notes.append(
            FileProblem(
                name,
                f"{name}: pages {_ranges(blank)} have no text (scanned images?) and are left "
                "empty; run OCR on the PDF to include them.",
                fatal=False,
            )
        )
    offsets, position = [], 0
    for text in texts:
        offsets.append(position)
        position += len(text) + 1
    return Document(name, "pdf", "\f".join(texts), sha256, tuple(offsets)), notes


def _ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 7] -> "1-3, 7": short messages for long lists of pages."""
    parts: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(parts)
