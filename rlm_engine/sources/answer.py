"""The answer's sources: the passages the model saw that hold the answer's distinctive parts,
and the passages it cited itself (checked against the corpus: only verbatim text counts).

An answer's distinctive parts are its numbers, dates, quoted phrases and names (capitalised words
that do not start a sentence); with none of those, its longer content words. Each seen passage
that contains some of them gives one source: the lines (or sentences) around the parts it holds,
within its page. Sources are ranked by how much of the answer they hold.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rlm_engine.sources.index import MIN_CHARS, CorpusIndex, Passage, split_pages
from rlm_engine.sources.text import canonical

MAX_SOURCES = 8
WINDOW = 240  # parts closer than this (characters) belong to one source
CONTEXT = 160  # at most this much text is kept on each side of the parts, up to a line end
COVERAGE = 0.9  # share of a citation's letters and digits that must be corpus text, verbatim

_QUOTED = re.compile(r"\"([^\"]{3,200})\"|“([^”]{3,200})”|'([^']{3,200})'")
_NUMBER = re.compile(r"\d[\d,.:/-]*\d|\d")
_NAME = re.compile(r"\b[A-Z][\w&'.-]*[\w](?:\s+(?:of\s+|de\s+|the\s+)?[A-Z][\w&'.-]*[\w])*")
_WORD = re.compile(r"[^\W\d_]{5,}")
_STOP_WORDS = """the a an and or but if in on at to of for by with from as is are was were be been
    it its
    this that these those there their they them he she his her we our you your not no yes which
    who what when where why how answer final according document context corpus text passage
    because however therefore also about into than then so such each every some any all"""
_STOP = frozenset(_STOP_WORDS.split())


@dataclass(frozen=True)
class Part:
    text: str
    weight: int


def distinctive_parts(answer: str) -> list[Part]:
    """What a source must hold to support `answer`, strongest first."""
    parts: dict[str, int] = {}
    for m in _QUOTED.finditer(answer):
        phrase = next(g for g in m.groups() if g).strip()
        if len(phrase.split()) >= 2:
            parts.setdefault(phrase, 4)
    for m in _NUMBER.finditer(answer):
        digits = re.sub(r"\D", "", m.group())
        if len(digits) >= 2 or len(answer.strip()) <= 3:
            parts.setdefault(m.group().strip(".,:/-"), 3)
    for m in _NAME.finditer(answer):
        name = m.group().strip(".'")
        first = name.split()[0].lower()
        sentence_start = m.start() == 0 or answer[: m.start()].rstrip()[-1:] in ".!?:\n"
        if first in _STOP or (sentence_start and " " not in name and len(name) < 4):
            continue
        parts.setdefault(name, 2)
    if not parts:
        for m in _WORD.finditer(answer):
            if m.group().lower() not in _STOP:
                parts.setdefault(m.group(), 1)
    return [Part(t, w) for t, w in parts.items() if t]


def _pattern(part: str) -> re.Pattern[str]:
    body = r"\s+".join(re.escape(w) for w in part.split())
    if re.fullmatch(r"\d+(?:[:/-]\d+)+", part):  # a date or time: as written
        return re.compile(rf"(?<![\w.,]){re.escape(part)}(?![\w]|[.,]\d)")
    if re.fullmatch(r"[\d,.:/-]+", part):  # 4,417 and 4417 are one number
        digits = re.sub(r"\D", "", part)
        body = r"[,.\s]?".join(re.escape(d) for d in digits)
        return re.compile(rf"(?<![\w.,]){body}(?!\d|[.,]\d)")
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE if " " in part else 0)


def answer_sources(
    answer: str, seen: Iterable[Passage], index: CorpusIndex, limit: int = MAX_SOURCES
) -> list[Passage]:
    """The seen passages' stretches that hold the answer's parts, best first."""
    parts = distinctive_parts(answer)
    if not parts:
        return []
    patterns = [(_pattern(p.text), p) for p in parts]
    candidates: list[tuple[int, Passage]] = []
    for passage in _merged(seen):
        hits: list[tuple[int, int, Part]] = []
        for pattern, part in patterns:
            hits.extend((m.start(), m.end(), part) for m in pattern.finditer(passage.text))
        for cluster in _clusters(sorted(hits, key=lambda h: h[0])):
            score = sum(part.weight for part in {h[2] for h in cluster})
            candidates.append((score, _around(passage, cluster, index)))
    if not candidates:
        return []
    best = max(score for score, _ in candidates)
    floor = max(1, (best + 1) // 2) if best >= 2 else best
    ranked = sorted(candidates, key=lambda c: (-c[0], c[1].document_index, c[1].start))
    out: list[Passage] = []
    for score, passage in ranked:
        if score < floor or any(_overlaps(passage, p) for p in out):
            continue
        out.append(passage)
        if len(out) >= limit:
            break
    return out


def check_citation(text: str, index: CorpusIndex) -> tuple[list[Passage], str | None]:
    """The passages a citation names, or ([], why it is not a source): cited text must be the
    corpus's own words (almost all of its letters and digits in passages found verbatim)."""
    wanted = index.canonical_length(text)
    if wanted < MIN_CHARS:
        return [], "too short to identify a passage: cite a whole sentence of the corpus"
    passages = index.find(text)
    found = sum(len(canonical(p.text)) for p in passages)
    if not passages or found < COVERAGE * wanted:
        return [], "not found verbatim in the corpus"
    return passages, None


def _merged(seen: Iterable[Passage]) -> list[Passage]:
    """Seen passages, overlaps joined, each once."""
    out: list[Passage] = []
    for p in sorted(set(seen)):
        last = out[-1] if out else None
        if last and last.document_index == p.document_index and p.start <= last.end:
            if p.end > last.end and last.page == p.page:
                text = last.text + p.text[last.end - p.start :]
                out[-1] = Passage(p.document_index, last.start, p.end, p.document, p.page, text)
            elif p.end > last.end:
                out.append(p)
            continue
        out.append(p)
    return out


def _clusters(hits: list[tuple[int, int, Part]]) -> list[list[tuple[int, int, Part]]]:
    clusters: list[list[tuple[int, int, Part]]] = []
    for hit in hits:
        if clusters and hit[0] - clusters[-1][-1][1] <= WINDOW:
            clusters[-1].append(hit)
        else:
            clusters.append([hit])
    return clusters


def _around(passage: Passage, cluster: list[tuple[int, int, Part]], index: CorpusIndex) -> Passage:
    """The lines (or sentences) of `passage` around a cluster of hits, at most CONTEXT more."""
    text = passage.text
    lo, hi = cluster[0][0], max(h[1] for h in cluster)
    floor, ceil = max(0, lo - CONTEXT), min(len(text), hi + CONTEXT)
    cut = max(text.rfind("\n", floor, lo), _sentence_end(text, floor, lo))
    start = cut + 1 if cut >= 0 else floor
    stops = [i for i in (text.find("\n", hi, ceil), _sentence_stop(text, hi, ceil)) if i >= 0]
    end = min(stops) if stops else ceil
    doc = index.documents[passage.document_index]
    stop = passage.start + end
    if doc.text[stop : stop + 1] in (".", "!", "?", ")", '"'):  # the sentence's own end
        stop += 1
    pieces = split_pages(passage.document_index, doc, passage.start + start, stop)
    holding = [p for p in pieces if p.start <= passage.start + lo < p.end]
    return (holding or pieces or [passage])[0]


def _sentence_end(text: str, floor: int, lo: int) -> int:
    found = [m.end() - 1 for m in re.finditer(r"[.!?]\s", text[floor:lo])]
    return floor + found[-1] if found else -1


def _sentence_stop(text: str, hi: int, ceil: int) -> int:
    m = re.search(r"[.!?](?=\s|$)", text[hi:ceil])
    return hi + m.end() if m else -1


def _overlaps(a: Passage, b: Passage) -> bool:
    return a.document_index == b.document_index and a.start < b.end and b.start < a.end


def part_spans(answer: str, text: str) -> list[tuple[int, int]]:
    """Where the answer's distinctive parts occur in `text` (to highlight them)."""
    spans = [
        (m.start(), m.end())
        for part in distinctive_parts(answer)
        for m in _pattern(part.text).finditer(text)
    ]
    return sorted(set(spans))
