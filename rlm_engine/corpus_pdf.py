"""PDF bytes -> one `Document`: its pages' text joined by a form feed, page offsets kept.

PDFium (pypdfium2) extracts text 12-20x faster than pypdf on typeset PDFs, so it reads first; its
text is normalised to read like pypdf's (`normalise_pdfium_text`). pypdf reads what PDFium cannot
open, and says why a file cannot be read at all: a password, missing AES support, damage.
"""

from __future__ import annotations

import io
import logging
import re
import threading

from rlm_engine.corpus import Document, FileProblem

__all__ = ["PdfReader", "normalise_pdfium_text", "pdfium_pages", "pypdf_pages", "read_pdf"]

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
    return _document(name, sha256, *pages)


class PdfReader:
    """The PDFs of one load, each cut at `max_chars` characters of text."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars

    def read(
        self, name: str, data: bytes, sha256: str
    ) -> tuple[Document | None, list[FileProblem]]:
        doc, notes = read_pdf(name, data, sha256)
        if doc is not None and doc.chars > self.max_chars:
            from dataclasses import replace

            from rlm_engine.corpus import cut_notice

            offsets = tuple(o for o in doc.page_offsets if o < self.max_chars)
            notes.append(cut_notice(name, self.max_chars, doc.chars))
            doc = replace(doc, text=doc.text[: self.max_chars], page_offsets=offsets)
        return doc, notes

    def close(self) -> None:
        pass


def pdfium_pages(data: bytes) -> Pages | None:
    """The pages read by PDFium, or None when it cannot open the file (pypdf then says why)."""
    import pypdfium2 as pdfium

    with _PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError:
            return None
        try:
            texts: list[str] = []
            unreadable: list[int] = []
            for index in range(len(pdf)):
                try:
                    texts.append(normalise_pdfium_text(_pdfium_page_text(pdf, index)))
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
