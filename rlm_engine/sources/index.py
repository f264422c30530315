"""Which corpus passages does a piece of text (a REPL output, a sub-call prompt) contain?

Matching works on a canonical form of the text: its letters and digits only (`[^\\W_]`), so that
joined lines, re-wrapped whitespace, punctuation added between slices and quotes of a `repr()`
do not break a match. The index samples the corpus's canonical text every `STRIDE` characters
and keeps a hash of the `GRAM` characters there (two sorted numpy arrays, 12 bytes per sample);
a query hashes every position of its own canonical text, so any common stretch of at least
`GRAM + STRIDE - 1` canonical characters is found, then grown to its full extent by comparing
the two strings. A match shorter than `MIN_CHARS` (a number alone, "the") does not count, nor
does a short one found in many places (generic text).

The index lives in memory with a `Session` and is rebuilt when a new one is made (an app restart).
It is built on its first look-up, not when made: a run's first model request never waits for it
(seconds and tens of MB for a 40 MB corpus), and a run that looks nothing up never builds it.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rlm_engine.sources.text import canonical, query_variants

GRAM = 12  # canonical characters hashed per sample
STRIDE = 8  # corpus sampling step: matches of >= GRAM + STRIDE - 1 characters are always found
MIN_CHARS = 20  # canonical characters (about four words) for a passage to count
GENERIC_CHARS = 40  # a match shorter than this that occurs more than MAX_PLACES times is generic
COMMON_GRAM = 8  # a gram sampled in more places than this is not looked up
MAX_PLACES = 3  # occurrences of one matched stretch that are reported
MIN_PIECE = 12  # a passage split at a page break keeps pieces of at least this many
_BASE = 1_000_003
_BUILD_CHUNK = 1 << 22  # canonical characters hashed at once (bounds the build's memory)
_LOOKUP_BLOCK = 256  # query grams looked up at once
_CHUNK = 4096  # original characters between checkpoints of the canonical -> original mapping
_ALNUM = re.compile(r"[^\W_]")

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class SourceDoc:
    """One document as the index sees it: `text` is its `context` string."""

    name: str
    text: str
    page_offsets: tuple[int, ...] = ()


@dataclass(frozen=True, order=True)
class Passage:
    """A stretch of one document: `context[document_index][start:end] == text`, within one
    page (`page` is 1-based for a PDF, None for a text file)."""

    document_index: int
    start: int
    end: int
    document: str = field(compare=False)
    page: int | None = field(compare=False)
    text: str = field(compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "document": self.document,
            "document_index": self.document_index,
            "page": self.page,
            "start": self.start,
            "end": self.end,
            "text": self.text,
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Passage:
        return Passage(
            document_index=int(data["document_index"]),
            start=int(data["start"]),
            end=int(data["end"]),
            document=str(data.get("document") or ""),
            page=None if data.get("page") is None else int(data["page"]),
            text=str(data.get("text") or ""),
        )


class _Doc:
    """A document's canonical text and the checkpoints that map it back to the original."""

    def __init__(self, doc: SourceDoc) -> None:
        self.doc = doc
        text = doc.text
        self.canon_at: list[int] = []  # canonical length of text[: i * _CHUNK]
        total = 0
        parts = []
        for i in range(0, len(text), _CHUNK):
            self.canon_at.append(total)
            part = canonical(text[i : i + _CHUNK])
            parts.append(part)
            total += len(part)
        self.canon = "".join(parts)

    def original(self, canon_offset: int) -> int:
        """The offset in the original text of canonical character `canon_offset`."""
        chunk = bisect.bisect_right(self.canon_at, canon_offset) - 1
        left = canon_offset - self.canon_at[chunk]
        base = chunk * _CHUNK
        for m in _ALNUM.finditer(self.doc.text, base, base + _CHUNK):
            if left == 0:
                return m.start()
            left -= 1
        return min(base + _CHUNK, len(self.doc.text))


class CorpusIndex:
    """Cheap to make; built on the first `find` (seconds for tens of MB), then milliseconds."""

    def __init__(self, documents: Sequence[SourceDoc] | Callable[[], Sequence[SourceDoc]]) -> None:
        """`documents`, or what gives them when first needed (a session's host may keep the
        texts in a file until then: rlm_engine.held)."""
        self._documents = None if callable(documents) else list(documents)
        self._get_documents = documents if callable(documents) else None
        self._documents_lock = threading.Lock()
        self._build_lock = threading.Lock()
        self._built = False

    @property
    def documents(self) -> list[SourceDoc]:
        """The indexed documents (asked for on first use when given as a function)."""
        if self._documents is None:
            with self._documents_lock:
                if self._documents is None and self._get_documents is not None:
                    self._documents = list(self._get_documents())
        return self._documents or []

    def _build(self) -> None:
        """The canonical text and the sorted gram table, once (thread-safe)."""
        with self._build_lock:
            if not self._built:
                self._build_table()
                self._built = True

    def _build_table(self) -> None:
        import numpy as np  # ~0.1 s: only when a corpus is first looked up

        self._docs = [_Doc(d) for d in self.documents]
        self._starts: list[int] = []  # where each document starts in the joined canonical text
        pos = 0
        for d in self._docs:
            self._starts.append(pos)
            pos += len(d.canon) + 1
        self._canon = "\x00".join(d.canon for d in self._docs)  # \x00 never matches a query
        for d in self._docs:
            d.canon = ""  # kept once, joined
        canon = self._canon
        # A gram across a document boundary holds \x00: it is indexed but never matches.
        hashes = np.concatenate(
            [_gram_hashes(canon[s : s + _BUILD_CHUNK + GRAM - 1], STRIDE)
             for s in range(0, max(1, len(canon) - GRAM + 1), _BUILD_CHUNK)]
        )  # fmt: skip
        order = np.argsort(hashes, kind="stable")
        self._hashes = hashes[order]
        del hashes  # one table of hashes at a time: the build's peak memory
        order *= STRIDE  # sample k sits at canonical position k * STRIDE
        # 4 bytes a position while they fit (a corpus under 4G characters): a quarter less
        self._positions = order.astype(np.uint32) if len(canon) < 2**32 else order
        del order
        # A bit per hash bucket, 16 buckets per sample: most of a query's grams are ruled out by
        # one look-up in this small table before the (slower) binary search.
        bits = max(16, int(len(self._hashes) * 16).bit_length())  # 2-4 MB per million samples
        self._mask = np.uint64((1 << bits) - 1)
        self._bits = np.zeros(1 << (bits - 3), dtype=np.uint8)
        for s in range(0, len(self._hashes), _BUILD_CHUNK):  # bounded temporaries
            buckets = (self._hashes[s : s + _BUILD_CHUNK] & self._mask).astype(np.int64)
            np.bitwise_or.at(self._bits, buckets >> 3, (1 << (buckets & 7)).astype(np.uint8))

    @property
    def built(self) -> bool:
        """Whether the table exists yet: a run that looks nothing up never pays for it."""
        return self._built

    @property
    def total_chars(self) -> int:
        return sum(len(d.text) for d in self.documents)

    # -- matching ---------------------------------------------------------------------------
    def find(self, text: str) -> list[Passage]:
        """The corpus passages `text` contains, each within one page, in corpus order."""
        self._build()
        spans: set[tuple[int, int]] = set()
        for variant in query_variants(text):
            spans.update(self._canonical_matches(canonical(variant)))
        passages: list[Passage] = []
        for start, end in _merge(sorted(spans)):
            passages.extend(self._passages(start, end))
        return _merge_passages(passages)

    def canonical_length(self, text: str) -> int:
        """How many canonical characters `text` has (the length matching works with)."""
        return max((len(canonical(v)) for v in query_variants(text)), default=0)

    def _canonical_matches(self, query: str) -> list[tuple[int, int]]:
        """Maximal common stretches of `query` and the corpus, as corpus canonical ranges."""
        import numpy as np

        n = len(query) - GRAM + 1
        if n <= 0 or not len(self._hashes):
            return []
        grams = _gram_hashes(query, 1)
        buckets = (grams & self._mask).astype(np.int64)
        candidates = np.flatnonzero(
            self._bits[buckets >> 3] & (1 << (buckets & 7)).astype(np.uint8)
        )
        matches: list[tuple[int, int, list[tuple[int, int]]]] = []  # query range, corpus ranges
        inside_until = -1
        at = 0
        while at < len(candidates):
            # Looked up a block at a time: a stretch found jumps the look-ups past its end (a
            # prompt that is one long corpus passage costs a block or two, not its whole length).
            block = candidates[at : at + _LOOKUP_BLOCK]
            lo = np.searchsorted(self._hashes, grams[block], side="left")
            hi = np.searchsorted(self._hashes, grams[block], side="right")
            at += len(block)
            # A gram sampled in many places is common text: a real passage has rarer grams too.
            for k in np.flatnonzero((hi > lo) & (hi - lo <= COMMON_GRAM)).tolist():
                q = int(block[k])
                if q + GRAM <= inside_until:
                    continue  # inside a stretch already matched: nothing longer starts here
                found = self._longest_at(query, q, self._positions[lo[k] : hi[k]].tolist())
                if found is None:
                    continue
                start, length, places = found
                inside_until = max(inside_until, start + length)
                matches.append((start, start + length, places))
                if inside_until - GRAM + 1 > int(block[-1]):
                    at = int(np.searchsorted(candidates, inside_until - GRAM + 1))
                    break
        return _longest_first(matches)

    def _longest_at(
        self, query: str, q: int, places: list[int]
    ) -> tuple[int, int, list[tuple[int, int]]] | None:
        """The longest stretch through query[q : q + GRAM] and one of the corpus `places` (its
        query start, its length, its corpus ranges), or None if too short or too generic."""
        best: list[tuple[int, int]] = []
        best_len = back_q = 0
        for p in places:
            if self._canon[p : p + GRAM] != query[q : q + GRAM]:
                continue  # a hash collision
            back = _common_suffix(self._canon, p, query, q)
            ahead = _common_prefix(self._canon, p + GRAM, query, q + GRAM)
            length = back + GRAM + ahead
            if length > best_len:
                best, best_len, back_q = [], length, back
            if length == best_len:
                best.append((p - back, p + GRAM + ahead))
        if not best or best_len < MIN_CHARS:
            return None
        if best_len < GENERIC_CHARS and len(best) > MAX_PLACES:
            return None
        return q - back_q, best_len, best[:MAX_PLACES]

    def _passages(self, start: int, end: int) -> list[Passage]:
        """A canonical range of the joined text as passages of one document, split at pages."""
        index = bisect.bisect_right(self._starts, start) - 1
        doc = self._docs[index]
        base = self._starts[index]
        first = doc.original(start - base)
        last = doc.original(end - base - 1) + 1
        return split_pages(index, doc.doc, first, last)


def split_pages(index: int, doc: SourceDoc, start: int, end: int) -> list[Passage]:
    """[start, end) of a document as passages that each lie within one page."""
    offsets = doc.page_offsets
    if not offsets:
        return [Passage(index, start, end, doc.name, None, doc.text[start:end])]
    pieces: list[Passage] = []
    page = max(1, bisect.bisect_right(offsets, start))
    while start < end:
        page_end = offsets[page] - 1 if page < len(offsets) else len(doc.text)  # at the \f
        stop = min(end, page_end)
        piece = doc.text[start:stop]
        lead = len(piece) - len(piece.lstrip())
        trimmed = piece.strip()
        if len(canonical(trimmed)) >= MIN_PIECE:
            s = start + lead
            pieces.append(Passage(index, s, s + len(trimmed), doc.name, page, trimmed))
        if page >= len(offsets):
            break
        start = max(stop, offsets[page])
        page += 1
    return pieces


def _gram_hashes(text: str, step: int) -> np.ndarray:
    """A polynomial hash (mod 2**64) of the GRAM characters at every `step`-th position of
    `text`, vectorised: GRAM passes over the code points instead of a Python loop."""
    import numpy as np

    base = np.uint64(_BASE)
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    n = (len(codes) - GRAM) // step + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    out = np.zeros(n, dtype=np.uint64)
    for j in range(GRAM):
        out *= base
        out += codes[j : j + (n - 1) * step + 1 : step]
    return out


def _longest_first(matches: list[tuple[int, int, list[tuple[int, int]]]]) -> list[tuple[int, int]]:
    """Each query character belongs to the longest match holding it; a match keeps only if
    MIN_CHARS of its characters are its own (a short coincidence inside a long match is not
    a passage of its own)."""
    taken: list[tuple[int, int]] = []
    out: list[tuple[int, int]] = []
    for start, end, places in sorted(matches, key=lambda m: m[0] - m[1]):
        own = (end - start) - sum(max(0, min(end, e) - max(start, s)) for s, e in taken)
        if own < MIN_CHARS:
            continue
        taken.append((start, end))
        out.extend(places)
    return out


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _merge_passages(passages: list[Passage]) -> list[Passage]:
    """Overlapping passages of one document (and page) become one."""
    out: list[Passage] = []
    for p in sorted(passages):
        last = out[-1] if out else None
        if (
            last
            and last.document_index == p.document_index
            and last.page == p.page
            and (p.start <= last.end)
        ):
            if p.end > last.end:
                text = last.text + p.text[last.end - p.start :]
                out[-1] = Passage(p.document_index, last.start, p.end, p.document, p.page, text)
            continue
        out.append(p)
    return out


def _common_prefix(a: str, i: int, b: str, j: int) -> int:
    """Length of the common prefix of a[i:] and b[j:], by galloping on slice comparisons."""
    limit = min(len(a) - i, len(b) - j)
    low, step = 0, 64
    while low < limit:
        n = min(step, limit - low)
        if a[i + low : i + low + n] == b[j + low : j + low + n]:
            low += n
            step *= 2
            continue
        if n == 1:
            break
        step = max(1, n // 2)
    return low


def _common_suffix(a: str, i: int, b: str, j: int) -> int:
    """Length of the common suffix of a[:i] and b[:j]."""
    limit = min(i, j)
    low, step = 0, 64
    while low < limit:
        n = min(step, limit - low)
        if a[i - low - n : i - low] == b[j - low - n : j - low]:
            low += n
            step *= 2
            continue
        if n == 1:
            break
        step = max(1, n // 2)
    return low
