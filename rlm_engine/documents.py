"""What a load makes of each file: a `Document` (its text), or a `FileProblem` (what went wrong).

Its own module so that the loader (corpus.py) and the readers it calls (corpus_read.py,
corpus_text.py, corpus_pdf.py) share these values without importing one another.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Document:
    """One file's text. `name`: the path as given; inside a directory, relative to it."""

    name: str
    kind: Literal["pdf", "text"]
    text: str
    sha256: str
    page_offsets: tuple[int, ...] = ()
    """Character offset in `text` where each page starts (PDF); () for a text file."""
    data: bytes | None = field(default=None, repr=False, compare=False)
    """A PDF's own bytes (to show its pages, sources highlighted); None for a text file."""

    @property
    def n_pages(self) -> int:
        """Pages of a PDF; 0 for a text file (it has no pages, not one)."""
        return len(self.page_offsets)

    @property
    def chars(self) -> int:
        return len(self.text)

    def page_at(self, offset: int) -> int:
        """1-based page holding character `offset` of a PDF's text (0 for a text file)."""
        if not self.page_offsets:
            return 0
        return bisect.bisect_right(self.page_offsets, offset)


@dataclass(frozen=True)
class FileProblem:
    """What went wrong with one file (or a group of skipped files), said to the user as is."""

    name: str
    message: str
    fatal: bool = True
    """True: the file was skipped. False: it loaded (or was skipped on purpose) with a note."""


def cut_notice(name: str, kept: int, total: int | None) -> FileProblem:
    """The notice for a document cut at the per-document cap (`total` None: not known)."""
    of = f" of its {total:,}" if total is not None else ""
    return FileProblem(
        name,
        f"{name}: only the first {kept:,}{of} characters were loaded (the per-document cap; "
        "raise RLM_MAX_DOCUMENT_CHARS to load more).",
        fatal=False,
    )
