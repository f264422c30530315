"""A streaming root reply, turned into RootDelta events for the UI (rlm_engine.events)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

DELTA_EVERY_S = 0.2
"""At most one RootDelta this often (the first at once): a model makes 20-100 pieces a second;
the app redraws the streaming reply every 0.1 s."""


class DeltaStream:
    """Turns the pieces of a streaming root reply into RootDelta events, at most one per
    `DELTA_EVERY_S` (a model makes 20-100 pieces a second; a panel need not grow faster). Pieces
    held back are sent by a timer, so a reply that stalls still shows what came; nothing is sent
    once the call is over: its RootResponse carries the whole text."""

    def __init__(self, emit: Callable[..., None], iteration: int) -> None:
        self.emit = emit  # emit(iteration=..., offset=..., text=...): a RootDelta
        self.iteration = iteration
        self.sent = 0  # characters already sent
        self.pending: list[str] = []
        self.last = 0.0
        self.closed = False
        self.timer: threading.Timer | None = None
        self.lock = threading.Lock()

    def __call__(self, piece: str) -> None:
        with self.lock:
            self.pending.append(piece)
            wait = self.last + DELTA_EVERY_S - time.monotonic()
            if wait <= 0:
                self._flush()
            elif self.timer is None:
                self.timer = threading.Timer(wait, self._on_timer)
                self.timer.daemon = True
                self.timer.start()

    def _on_timer(self) -> None:
        with self.lock:
            self.timer = None
            self._flush()

    def _flush(self) -> None:
        """Send what is pending as one event. Call with the lock held."""
        if self.closed or not self.pending:
            return
        self.last = time.monotonic()
        text = "".join(self.pending)
        self.pending.clear()
        self.emit(iteration=self.iteration, offset=self.sent, text=text)
        self.sent += len(text)

    def close(self) -> None:
        """No more events: an abandoned call's late pieces must not follow its RootResponse."""
        with self.lock:
            self.closed = True
            if self.timer is not None:
                self.timer.cancel()
