"""Imports the first page does not need, done in the background once it is drawn.

A cold start draws the Ask page with little imported; storage (SQLAlchemy, Alembic) and the
run's drawing (numpy, pandas) take seconds on a loaded machine, so they are imported in a daemon
thread after the first paint, and the first question does not wait for them.
"""

from __future__ import annotations

import importlib
import logging
import threading

log = logging.getLogger(__name__)
MODULES = (
    "storage",
    "webui.live",
    "webui.sources_view",
    "webui.runner",
    "pandas",
    "pyarrow",
    "rlm_engine",
)
DELAY_S = 1.5  # let the first paint reach the browser before the imports compete for the GIL
_started = threading.Event()


def _import_all() -> None:
    for name in MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # the page that needs it will say what failed
            log.debug("warm-up import of %s failed", name, exc_info=True)


def warm_up() -> None:
    """Start the background imports (once per process)."""
    if _started.is_set():
        return
    _started.set()
    timer = threading.Timer(DELAY_S, _import_all)
    timer.name, timer.daemon = "rlm-warmup", True
    timer.start()
