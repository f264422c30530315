"""Recording a run as it happens: one engine event, one short write transaction, in order.

Lossless under a passing outage (another program holds a lock, the server restarts): an event
that cannot be written waits in memory, in order, and is written before any newer event, on a
later event, at the run's RunFinished, or at `close()`. The first failure costs the usual bounded
wait; while a backlog exists, later events only queue, with a quick try now and then (backing
off), so that an outage does not stall the run on every event. One warning per outage.
A process killed at any moment leaves every event it had written.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.engine import Engine

from rlm_engine.events import RootDelta, RunFinished
from storage.connect import WRITE, guarded
from storage.errors import DatabaseLocked, DatabaseReadOnly, DatabaseUnavailable, StorageError
from storage.fold import apply_event, event_dict, next_seq

log = logging.getLogger(__name__)

OUTAGE = (DatabaseLocked, DatabaseUnavailable, DatabaseReadOnly)  # may pass: keep and retry
QUICK_WAIT_MS = 50  # lock wait of a try made while a backlog exists
TRANSIENT = frozenset({RootDelta.type})  # events shown live and never stored


class Recorder:
    """`rec(event)` stores one event (an engine Event or its dict); thread-safe.

    Batched sub-calls may report from several threads; events are numbered in the order they
    reach the recorder. New runs get the recorder's corpus, comparison and label.
    `pending` counts events not written yet, `error` says why; `close()` writes them (waiting
    the usual bounded time) and returns how many could not be saved: 0 means all were.
    Raises StorageError only for an event that can never be stored (it is then dropped).
    """

    retry_first_s = 0.25  # while a backlog exists, quick tries this far apart, doubling...
    retry_max_s = 5.0  # ...up to this

    def __init__(
        self,
        engine: Engine,
        shown: str,
        *,
        writer: str,
        corpus_id: int | None = None,
        comparison_id: int | None = None,
        label: str | None = None,
        conversation_id: str | None = None,
        check_file: Callable[[], str | None] | None = None,
    ) -> None:
        self._engine = engine.execution_options(**WRITE)
        self._check_file = check_file  # says if the database file was deleted or replaced
        self._quick = self._engine.execution_options(rlm_busy_ms=QUICK_WAIT_MS)
        self._shown = shown
        self._extra = {
            "corpus_id": corpus_id,
            "comparison_id": comparison_id,
            "label": label,
            "conversation_id": conversation_id,
            "writer": writer,
        }
        self._lock = threading.Lock()
        self._next_seq: dict[str, int] = {}
        self._backlog: deque[dict[str, Any]] = deque()
        self._outage: StorageError | None = None
        self._retry_at = 0.0
        self._retry_s = 0.0
        self.dropped = 0  # events refused for good (not an outage)
        self.written = 0
        self.lost: str | None = None  # why every written event is lost (the file was deleted)
        self._refusal: str | None = None  # why the last refused event was refused

    @property
    def conversation_id(self) -> str | None:
        """What runs started from now on are saved under (follow-ups of one session)."""
        return self._extra["conversation_id"]

    @conversation_id.setter
    def conversation_id(self, value: str | None) -> None:
        with self._lock:
            self._extra["conversation_id"] = value

    @property
    def pending(self) -> int:
        """Events kept in memory because the database could not take them yet."""
        return len(self._backlog)

    @property
    def error(self) -> StorageError | None:
        """Why events are pending (the outage's error), or None."""
        return self._outage if self._backlog else None

    @property
    def problem(self) -> str | None:
        """Why events are missing, in words (the outage, or why one was refused), or None."""
        if self.lost:
            return f"{self.lost}: the run was not saved"
        if self._backlog and self._outage is not None:
            return str(self._outage)
        return self._refusal if self.dropped else None

    def __call__(self, event: Any) -> None:
        if getattr(event, "type", None) in TRANSIENT or (
            isinstance(event, dict) and event.get("type") in TRANSIENT
        ):
            return  # streamed pieces of a reply: its RootResponse holds the whole text
        data = event_dict(event)  # not an event: raises, nothing is queued
        final = data["type"] == RunFinished.type and not data.get("depth")
        with self._lock:
            self._backlog.append(data)
            if self._outage is None or final:
                self._drain(self._engine)
            elif time.monotonic() >= self._retry_at:
                self._drain(self._quick)
            if final:
                self._check_lost()

    def flush(self) -> int:
        """Try to write what is pending (with the usual bounded wait); returns what is left."""
        with self._lock:
            if self._backlog:
                self._drain(self._engine)
            return len(self._backlog)

    def close(self) -> int:
        """Flush; the number of events that could not be saved (pending + dropped; every one,
        written ones too, when the database file was deleted or replaced: see `lost`)."""
        left = self.flush()
        with self._lock:
            self._check_lost()
        if self.lost:
            return self.written + left + self.dropped
        if left:
            log.error(
                "%d events could not be saved to %s (%s); the saved run is incomplete.",
                left,
                self._shown,
                self._outage,
            )
        return left + self.dropped

    def _drain(self, engine: Engine) -> None:
        """Write the backlog oldest first; stop at an outage. Call with the lock held."""
        refused: Exception | None = None
        written = 0
        while self._backlog:
            data = self._backlog[0]
            try:
                self._write(engine, data)
            except OUTAGE as exc:
                self._fail(exc)
                break
            except Exception as exc:  # this event itself cannot be stored: never retry it
                self._backlog.popleft()
                self.dropped += 1
                refused = refused or exc
                self._refusal = f"an event was refused: {type(exc).__name__}: {exc}"[:500]
                log.error("An event of run %s could not be saved: %s", data["run_id"], exc)
                continue
            self._backlog.popleft()
            written += 1
            self.written += 1
        else:
            if self._outage is not None:
                log.warning(
                    "%s can be written again: %d delayed events saved.", self._shown, written
                )
            self._outage = None
        if refused is not None:
            raise refused

    def _write(self, engine: Engine, data: Mapping[str, Any]) -> None:
        run_id = str(data["run_id"])
        with guarded(self._shown), engine.begin() as connection:
            seq = self._next_seq.get(run_id)
            if seq is None:
                seq = next_seq(connection, data, **self._extra)
            apply_event(connection, data, seq)
        self._next_seq[run_id] = seq + 1

    def _check_lost(self) -> None:
        """Notice a database file deleted or replaced under the run. Call with the lock held."""
        if self._check_file is None or self.lost:
            return
        self.lost = self._check_file()
        if self.lost:
            log.error("%s: %d events of the run were not saved.", self.lost, self.written)

    def _fail(self, exc: StorageError) -> None:
        if self._outage is None:
            log.warning(
                "Cannot save run events now: %s Keeping them in memory, in order, and retrying.",
                exc,
            )
            self._retry_s = self.retry_first_s
        self._outage = exc
        self._retry_at = time.monotonic() + self._retry_s
        self._retry_s = min(self._retry_s * 2, self.retry_max_s)
