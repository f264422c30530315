"""Provenance as events: a `SourceTracker` sits between a run and its event consumer.

It passes every event on and adds, right after it, a PassagesFound for each REPL output and
sub-call prompt (any depth) that holds corpus passages; it checks the model's citations
(`cite(...)`, `FINAL(..., sources=[...])`) as they are made; and just before the top-level
RunFinished it adds SourcesFound: the answer's sources, cited ones first. Matching runs in the
thread that emits, so its cost is part of the run's wall time (and is reported in SourcesFound).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rlm_engine.events import (
    CitationChecked,
    CodeExecuted,
    Event,
    MethodChosen,
    PassagesFound,
    RunFinished,
    SourcesFound,
    SubCallStarted,
)
from rlm_engine.sources.answer import MAX_SOURCES, answer_sources, check_citation
from rlm_engine.sources.index import CorpusIndex, Passage, split_pages

if TYPE_CHECKING:
    from rlm_engine.loop import RLMRun

log = logging.getLogger(__name__)

NO_SOURCE = "no passage of the corpus contains this answer"


class SourceTracker:
    """One per run: call it with each event (it is the run's `on_event`)."""

    def __init__(self, index: CorpusIndex, on_event: Callable[[Event], None] | None) -> None:
        self.index = index
        self._downstream = on_event
        self._lock = threading.Lock()
        self._seen: list[Passage] = []
        self._cited: list[Passage] = []  # accepted citations of the top-level RLM
        self._rejected = 0
        self.spent_s = 0.0  # matching time, all of it

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunFinished) and event.depth == 0 and event.answer is not None:
            self._send_derived(lambda: self.sources_event(event))
        self._send(event)
        if isinstance(event, MethodChosen) and event.method == "direct" and event.depth == 0:
            self._read_whole_corpus()
        if isinstance(event, CodeExecuted):
            where = {"block_index": event.block_index}
            self._send_derived(lambda: self._found(event, "code", event.output, **where))
        elif isinstance(event, SubCallStarted):
            where = {"call_id": event.call_id}
            self._send_derived(lambda: self._found(event, "sub_call", event.prompt, **where))

    def _read_whole_corpus(self) -> None:
        """A direct read: the root model saw the corpus itself, every page of it."""
        whole = [
            piece
            for i, doc in enumerate(self.index.documents)
            for piece in split_pages(i, doc, 0, len(doc.text))
        ]
        with self._lock:
            self._seen.extend(whole)

    def _send_derived(self, make: Callable[[], Event | None]) -> None:
        """A failure to match must cost the run nothing but its provenance."""
        try:
            derived = make()
        except Exception:
            log.exception("Matching passages failed")
            return
        if derived is not None:
            self._send(derived)

    def cite(self, text: str, run: RLMRun) -> str:
        """Check one citation; tell the model what became of it."""
        started = time.perf_counter()
        passages, reason = check_citation(text, self.index)
        with self._lock:
            self.spent_s += time.perf_counter() - started
            if passages:
                self._seen.extend(passages)
                if run.depth == 0:
                    self._cited.extend(passages)
            else:
                self._rejected += 1
        run.emit(
            CitationChecked,
            iteration=run.iteration,
            text=text,
            accepted=not reason,
            reason=reason,
            passages=[p.to_dict() for p in passages],
        )
        if reason:
            return f"Not cited ({reason}): copy the passage from `context` exactly."
        places = ", ".join(_place(p) for p in passages)
        return f"Cited: {places}."

    def sources_event(self, finished: RunFinished) -> SourcesFound:
        answer = finished.answer or ""
        started = time.perf_counter()
        with self._lock:
            seen, cited = list(self._seen), _unique(self._cited)
        found = answer_sources(answer, seen, self.index, limit=MAX_SOURCES)
        automatic = [p for p in found if not any(_overlap(p, c) for c in cited)]
        self.spent_s += time.perf_counter() - started
        return SourcesFound(
            run_id=finished.run_id,
            answer=finished.answer,
            sources=[p.to_dict() for p in [*cited, *automatic]],
            cited=len(cited),
            rejected=self._rejected,
            elapsed_s=round(self.spent_s, 6),
        )

    def _found(self, event: Event, origin: str, text: str, **where: object) -> Event | None:
        started = time.perf_counter()
        passages = self.index.find(text)
        with self._lock:
            self.spent_s += time.perf_counter() - started
            self._seen.extend(passages)
        if not passages:
            return None
        return PassagesFound(
            run_id=event.run_id,
            depth=event.depth,
            parent_call_id=event.parent_call_id,
            origin=origin,  # type: ignore[arg-type]
            iteration=getattr(event, "iteration", 0),
            passages=[p.to_dict() for p in passages],
            **where,  # type: ignore[arg-type]
        )

    def _send(self, event: Event) -> None:
        if self._downstream is not None:
            self._downstream(event)


def _place(p: Passage) -> str:
    page = f", page {p.page}" if p.page else ""
    return f"{p.document}{page} (characters {p.start}-{p.end})"


def _unique(passages: list[Passage]) -> list[Passage]:
    out: list[Passage] = []
    for p in passages:
        if not any(_overlap(p, q) for q in out):
            out.append(p)
    return out


def _overlap(a: Passage, b: Passage) -> bool:
    return a.document_index == b.document_index and a.start < b.end and b.start < a.end
