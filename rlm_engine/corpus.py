"""Files (PDF, text) -> documents -> the REPL's `context`.

The contract (docs/contract.md): a text file becomes its exact text (UTF-8, undecodable bytes
replaced, no header added); a PDF becomes its pages' text joined by a form feed `\\f`, with the
offset where each page starts kept in `Document.page_offsets`; one string per file, in the order
given, a directory's files sorted by path. `context` is a `str` for one document, `list[str]` for
several.

A bad file never stops a load: it becomes a `FileProblem` with a message saying what to do, and
the other files still load. `CorpusError` is raised only when the call itself is wrong.
"""

from __future__ import annotations

import hashlib
import os
import statistics
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rlm_engine.corpus_pdf import PdfReader
from rlm_engine.corpus_read import max_document_chars, max_file_bytes, read_regular_file, too_large
from rlm_engine.corpus_text import decode_text
from rlm_engine.documents import Document, FileProblem, cut_notice
from rlm_engine.errors import CorpusError

__all__ = [
    "TEXT_EXTENSIONS",
    "Corpus",
    "Document",
    "FileProblem",
    "ProgressCallback",
    "context_metadata",
    "load_files",
    "load_paths",
]

ProgressCallback = Callable[[int, int, str], None]
"""on_progress(done, total, name): called after each file, done counting 1..total."""

_EXTENSIONS = """
    .txt .text .md .markdown .rst .adoc .org .csv .tsv .json .jsonl .ndjson .xml .html .htm .xhtml
    .py .ipynb .log .yaml .yml .toml .ini .cfg .conf .tex .bib .srt .vtt .sql .sh .js .ts .java .c
    .h .cpp .hpp .cs .go .rs .rb .php .r .m .swift .kt .scala .css .svg .eml
"""
TEXT_EXTENSIONS = frozenset(_EXTENSIONS.split())
"""Extensions read as text in a directory (plus files without an extension that look like text)."""


@dataclass(frozen=True)
class Corpus:
    documents: tuple[Document, ...]
    problems: tuple[FileProblem, ...]

    @property
    def context(self) -> str | list[str]:
        """The REPL's `context`: a `str` for one document, `list[str]` otherwise ([] for none)."""
        if len(self.documents) == 1:
            return self.documents[0].text
        return [doc.text for doc in self.documents]

    @property
    def total_chars(self) -> int:
        return sum(doc.chars for doc in self.documents)

    def estimated_tokens(self) -> int:
        """A rough token count, chars / 4 (typical for English with current tokenizers)."""
        return (self.total_chars + 3) // 4

    def require_documents(self) -> Corpus:
        """Self, or CorpusError listing every problem when nothing could be loaded."""
        if self.documents:
            return self
        reasons = "; ".join(p.message for p in self.problems) or "no files were given"
        raise CorpusError(f"No document could be loaded: {reasons}")


# --- loading --------------------------------------------------------------------------------


def load_paths(
    paths: Iterable[str | Path] | str | Path, *, on_progress: ProgressCallback | None = None
) -> Corpus:
    """Load files and directories, in the order given; a directory's files sorted by path.

    Only regular files are read (FIFOs, devices, sockets and links to them are skipped with a
    notice), each up to `RLM_MAX_FILE_MB` (corpus_read)."""
    if isinstance(paths, str | Path):
        paths = [paths]
    items = list(paths)
    if not items:
        raise CorpusError("No files or directories were given: name at least one path.")
    sources: list[tuple[str, Path, bool]] = []  # (name, path, from a directory walk)
    problems: list[FileProblem] = []
    for item in items:
        if not isinstance(item, str | Path):
            raise CorpusError(f"Expected a file or directory path, got {type(item).__name__}.")
        path = Path(item).expanduser()
        name = str(item)
        if path.is_dir():
            found, notes = _walk(path, name)
            sources.extend((rel, file, True) for rel, file in found)
            problems.extend(notes)
        elif path.exists():
            sources.append((name, path, False))
        else:
            problems.append(FileProblem(name, f"{name} does not exist: check the path."))
    documents: list[Document] = []
    limit = max_file_bytes()
    with _Extraction(documents, problems) as extraction:
        for done, (name, path, walked) in enumerate(sources, start=1):
            data = read_regular_file(name, path, limit)
            if isinstance(data, FileProblem):
                problems.append(data)
            else:
                extraction.add(name, data, from_directory=walked)
            if on_progress:
                on_progress(done, len(sources), name)
    return Corpus(tuple(documents), tuple(problems))


def load_files(
    files: Iterable[tuple[str, bytes]], *, on_progress: ProgressCallback | None = None
) -> Corpus:
    """Load uploads given as (name, bytes), in the order given; each up to `RLM_MAX_FILE_MB`."""
    items = list(files)
    if not items:
        raise CorpusError("No files were given: upload at least one file.")
    for item in items:
        if not (
            isinstance(item, tuple)
            and len(item) == 2
            and isinstance(item[0], str)
            and isinstance(item[1], bytes | bytearray | memoryview)
        ):
            raise CorpusError("Each upload must be a (name, bytes) pair.")
    documents: list[Document] = []
    problems: list[FileProblem] = []
    limit = max_file_bytes()
    with _Extraction(documents, problems) as extraction:
        for done, (name, data) in enumerate(items, start=1):
            if len(data) > limit:
                problems.append(too_large(name, len(data), limit))
            else:
                extraction.add(name, bytes(data), from_directory=False)
            if on_progress:
                on_progress(done, len(items), name)
    return Corpus(tuple(documents), tuple(problems))


def _walk(root: Path, root_name: str) -> tuple[list[tuple[str, Path]], list[FileProblem]]:
    """A directory's loadable files as (relative name, path), sorted by path; notes for the rest."""
    found: list[tuple[tuple[str, ...], Path]] = []
    skipped: Counter[str] = Counter()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for filename in filenames:
            if filename.startswith("."):
                continue
            path = Path(dirpath, filename)
            suffix = path.suffix.lower()
            if suffix == ".pdf" or suffix in TEXT_EXTENSIONS or not suffix:
                found.append((path.relative_to(root).parts, path))
            else:
                skipped[suffix] += 1
    found.sort(key=lambda item: item[0])
    notes = []
    if skipped:
        kinds = ", ".join(f"{ext} ({n})" for ext, n in sorted(skipped.items()))
        notes.append(
            FileProblem(
                root_name,
                f"{root_name}: skipped {sum(skipped.values())} files of types not read as text "
                f"or PDF: {kinds}.",
                fatal=False,
            )
        )
    if not found:
        notes.append(FileProblem(root_name, f"{root_name} holds no text or PDF files to load."))
    return [("/".join(parts), path) for parts, path in found], notes


class _Extraction:
    """One load's files -> documents or problems; never raises for a bad file. PDFs of the load
    share one extraction child process (corpus_pdf.PdfReader), kept warm for the next load."""

    def __init__(self, documents: list[Document], problems: list[FileProblem]) -> None:
        self.documents, self.problems = documents, problems
        self.max_chars = max_document_chars()
        self._pdfs: PdfReader | None = None

    def __enter__(self) -> _Extraction:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pdfs is not None:
            self._pdfs.close()

    def add(self, name: str, data: bytes, *, from_directory: bool) -> None:
        if not data:
            self.problems.append(FileProblem(name, f"{name} is empty: nothing to load."))
            return
        sha256 = hashlib.sha256(data).hexdigest()
        suffix = Path(name).suffix.lower()
        if suffix == ".pdf" or (suffix not in TEXT_EXTENSIONS and data.startswith(b"%PDF-")):
            if self._pdfs is None:
                self._pdfs = PdfReader(self.max_chars)
            doc, notes = self._pdfs.read(name, data, sha256)
            self.problems.extend(notes)
            if doc:
                self.documents.append(doc)
            return
        text, notes = decode_text(name, data)
        if text is None and suffix not in TEXT_EXTENSIONS and from_directory:
            notes = [replace(n, fatal=False) for n in notes]  # no extension: skipping is expected
        self.problems.extend(notes)
        if text is not None:
            self.documents.append(Document(name, "text", self._capped(name, text), sha256))

    def _capped(self, name: str, text: str) -> str:
        """The text cut to the per-document cap, with a notice naming the file."""
        if len(text) <= self.max_chars:
            return text
        self.problems.append(cut_notice(name, self.max_chars, len(text)))
        return text[: self.max_chars]


# --- what the root model is told about `context` -------------------------------------------


def context_metadata(context: str | list[str], *, max_lengths: int = 100) -> dict[str, Any]:
    """Shape of `context` for the root model's first message; never any of its content.

    Lists the first `max_lengths` document lengths; past that, a summary of all of them.
    """
    if isinstance(context, str):
        return lengths_metadata("str", [len(context)], max_lengths=max_lengths)
    if isinstance(context, list) and all(isinstance(item, str) for item in context):
        return lengths_metadata("list[str]", [len(d) for d in context], max_lengths=max_lengths)
    raise CorpusError("context must be a str or a list of str.")


def lengths_metadata(kind: str, lengths: list[int], *, max_lengths: int = 100) -> dict[str, Any]:
    """context_metadata from the documents' lengths alone (a host that keeps no text in memory
    still describes it: rlm_engine.held)."""
    meta: dict[str, Any] = {
        "type": kind,
        "total_chars": sum(lengths),
        "n_documents": len(lengths),
        "document_lengths": lengths[:max_lengths],
    }
    if len(lengths) > max_lengths:
        meta["document_lengths_omitted"] = len(lengths) - max_lengths
        meta["document_lengths_summary"] = {
            "min": min(lengths),
            "median": int(statistics.median(lengths)),
            "mean": round(statistics.fmean(lengths)),
            "max": max(lengths),
        }
    return meta
