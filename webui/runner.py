"""Runs in worker threads that belong to the browser session, not to a script run.

A `RunHandle` is a plain object kept in `st.session_state`. Its thread calls `session.run(...)`
and only appends events to a locked list (and hands them to the storage recorder); it never calls
`st.*`. Pages draw `handle.events()` from a fragment that polls while the run is alive, so a
rerun, a click elsewhere or a visit to another page does not stop the run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from rlm_engine.errors import RLMError
from rlm_engine.events import Event, RootDelta, RootResponse
from rlm_engine.trace import fold

if TYPE_CHECKING:
    from rlm_engine import RunConfig, RunResult

log = logging.getLogger(__name__)


class Recorder(Protocol):
    """What a handle needs from a storage recorder (storage.Recorder)."""

    def __call__(self, event: Event) -> None: ...

    def close(self) -> int: ...

    @property
    def problem(self) -> str | None: ...


class RunsQuestions(Protocol):
    """What a handle needs from an engine session (rlm_engine.Session)."""

    def run(
        self,
        question: str,
        config: RunConfig,
        *,
        on_event: Callable[[Event], None],
        cancel: threading.Event,
    ) -> RunResult: ...


def user_message(exc: BaseException) -> str:
    """What a user is shown for an exception: ours as they are, others generically (and logged)."""
    if isinstance(exc, RLMError):
        return str(exc)
    log.error("Unexpected error", exc_info=exc)
    return f"Something went wrong ({type(exc).__name__}). The details are in the server log."


@dataclass
class RunHandle:
    """One run in flight or done: its events so far, its result, and a way to stop it."""

    question: str
    label: str = ""
    cancel: threading.Event = field(default_factory=threading.Event)
    result: RunResult | None = None  # once done
    error: str | None = None  # a message for the user when the run could not even finish
    warnings: list[str] = field(default_factory=list)
    _events: list[Event] = field(default_factory=list)
    _replies: int = 0  # the top-level root replies so far (RootResponse)
    _deltas: list[Event] = field(default_factory=list)  # the top-level reply streaming in now
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _done: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def events(self) -> list[Event]:
        """A copy of the events so far, safe to read while the worker appends."""
        with self._lock:
            return list(self._events)

    def streaming(self) -> tuple[int, str | None]:
        """The root replies so far, and the one streaming in now (None: none is). Kept as the
        events come, so the live panel can redraw it often without folding the whole run."""
        with self._lock:
            replies, deltas = self._replies, list(self._deltas)
        return replies, fold(deltas).streaming if deltas else None

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def stop(self) -> None:
        self.cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def _on_event(self, event: Event, recorder: Recorder | None) -> None:
        with self._lock:  # one writer at a time: the list and the database see the same order
            self._events.append(event)
            if event.parent_call_id is None and isinstance(event, RootDelta):
                self._deltas.append(event)
            elif event.parent_call_id is None and isinstance(event, RootResponse):
                self._replies += 1
                self._deltas.clear()
            if recorder is not None:
                try:
                    recorder(event)
                except Exception as exc:
                    self._warn(f"This run could not be saved: {user_message(exc)}")

    def _close_recorder(self, recorder: Recorder) -> None:
        """Write what a database outage held back; say how much is still missing."""
        try:
            unsaved = recorder.close()
        except Exception as exc:
            message = f"This run could not be saved: {user_message(exc)}"
        else:
            message = _unsaved_warning(unsaved, recorder.problem) if unsaved else ""
            lost = getattr(recorder, "lost", None)  # the database file was deleted or replaced
            if lost:
                message = f"This run was not saved: {lost}. It will not be in History."
        if message:
            with self._lock:
                self._warn(message)

    def _warn(self, message: str) -> None:
        """Add a warning once. Call with the lock held."""
        if message not in self.warnings:
            self.warnings.append(message)


def _unsaved_warning(unsaved: int, why: str | None = None) -> str:
    return (
        f"{unsaved} events of this run could not be saved ({why or 'reason unknown'}): "
        "History shows it incomplete."
    )


def start_run(
    session: RunsQuestions,
    question: str,
    config: RunConfig,
    *,
    recorder: Recorder | None = None,
    label: str = "",
    on_done: Callable[[], None] | None = None,
) -> RunHandle:
    """Start `session.run(question, config)` in a daemon thread and return its handle at once.

    `on_done` runs in the worker after the run (e.g. to close a session made for this run only).
    """
    handle = RunHandle(question=question, label=label)

    def work() -> None:
        try:
            handle.result = session.run(
                question,
                config,
                on_event=lambda event: handle._on_event(event, recorder),
                cancel=handle.cancel,
            )
            if handle.result is not None and handle.result.status == "failed":
                handle.error = handle.result.error
        except BaseException as exc:
            handle.error = user_message(exc)
        finally:
            if recorder is not None:
                handle._close_recorder(recorder)
            if on_done is not None:
                try:
                    on_done()
                except Exception:
                    log.exception("Cleaning up after a run failed")
            handle._done.set()

    handle._thread = threading.Thread(target=work, name=f"rlm-run-{label or 'ask'}", daemon=True)
    handle._thread.start()
    return handle
