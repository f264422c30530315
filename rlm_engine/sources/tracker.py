"""Provenance as events: a `SourceTracker` sits between a run and its event consumer.

It passes every event on and adds, after it, a PassagesFound for each REPL output and sub-call
prompt (any depth) that holds corpus passages: matched in a thread of its own, so that the run
never waits for it, and all before the top-level RunFinished. It checks the model's citations
(`cite(...)`, `FINAL(..., sources=[...])`) as they are made; and just before the top-level
RunFinished it adds SourcesFound: the answer's sources, cited ones first, and the time matching
took (wall clock and CPU).
"""

from __future__ import annotations

import logging
import queue
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
    from rlm_engine.repl_calls import CallingRun

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
        self.spent_s = 0.0  # matching time, all of it (wall clock)
        self.cpu_s = 0.0  # and in CPU time
        self._queue: queue.Queue[Callable[[], Event | None] | None] = queue.Queue()
        self._matcher: threading.Thread | None = None
        self._send_lock = threading.Lock()  # the consumer sees one event at a time

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunFinished) and event.depth == 0:
            self._queue.join()  # every output and prompt matched before the answer's sources
            if event.answer is not None:
                self._send_derived(lambda: self.sources_event(event))
            self._queue.put(None)  # the matcher thread ends
        self._send(event)
        if isinstance(event, MethodChosen) and event.method == "direct" and event.depth == 0:
            self._read_whole_corpus()
        if isinstance(event, CodeExecuted):
            where = {"block_index": event.block_index}
            self._match(lambda: self._found(event, "code", event.output, **where))
        elif isinstance(event, SubCallStarted):
            where = {"call_id": event.call_id}
            self._match(lambda: self._found(event, "sub_call", event.prompt, **where))

    def _match(self, make: Callable[[], Event | None]) -> None:
        """Matching happens in a thread of its own: the run (and its other sub-calls, which
        wait for the event lock) never waits for it; its PassagesFound comes a little later."""
        if self._matcher is None:
            self._matcher = threading.Thread(target=self._work, daemon=True, name="rlm-sources")
            self._matcher.start()
        self._queue.put(make)

    def _work(self) -> None:
        while True:
            make = self._queue.get()
            try:
                if make is None:
                    return
                self._send_derived(make)
            finally:
                self._queue.task_done()

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

    def cite(self, text: str, run: CallingRun) -> str:
        """Check one citation; tell the model what became of it."""
        started = _clock()
        passages, reason = check_citation(text, self.index)
        with self._lock:
            self._spend(started)
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
        started = _clock()
        with self._lock:
            seen, cited = list(self._seen), _unique(self._cited)
        found = answer_sources(answer, seen, self.index, limit=MAX_SOURCES)
        automatic = [p for p in found if not any(_overlap(p, c) for c in cited)]
        self._spend(started)
        return SourcesFound(
            run_id=finished.run_id,
            answer=finished.answer,
            sources=[p.to_dict() for p in [*cited, *automatic]],
            cited=len(cited),
            rejected=self._rejected,
            elapsed_s=round(self.spent_s, 6),
            cpu_s=round(self.cpu_s, 6),
        )

    def _found(self, event: Event, origin: str, text: str, **where: object) -> Event | None:
        started = _clock()
        passages = self.index.find(text)
        with self._lock:
            self._spend(started)
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

    def _spend(self, started: tuple[float, float]) -> None:
        wall, cpu = _clock()
        self.spent_s += wall - started[0]
        self.cpu_s += cpu - started[1]

    def _send(self, event: Event) -> None:
        if self._downstream is not None:
            with self._send_lock:
                self._downstream(event)


def _clock() -> tuple[float, float]:
    """Wall clock and this thread's CPU time (matching runs in the emitting thread)."""
    return time.perf_counter(), time.thread_time()


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
