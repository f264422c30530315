"""Warming up: what a run's first model request needs, imported while the run gets ready.

Before its first request a run imports its provider's SDK (`openai`: ~0.3 s with its type
packages loaded on use, rlm_engine.providers.lazy_sdk) and, when the router needs it (method
auto or direct, no window given), looks up the root model's window in the price table
(`genai_prices`: ~0.3 s); the corpus's loading comes first. `warm_up` does those imports in a
thread of its own meanwhile, so that the run finds them done. Nothing else changes: a module
being imported is waited for by Python's import lock, and a warm-up that fails is silent (the run
meets the same failure itself, and says it).
"""

from __future__ import annotations

import logging
import threading

from rlm_engine.config import RunConfig
from rlm_engine.providers.lazy_sdk import import_sdk
from rlm_engine.providers.registry import provider_info

log = logging.getLogger(__name__)


def warm_up(config: RunConfig) -> threading.Thread:
    """Start importing, in a daemon thread, what the root model's first request needs."""
    thread = threading.Thread(target=_warm, args=(config,), daemon=True, name="rlm-warm-up")
    thread.start()
    return thread


def _warm(config: RunConfig) -> None:
    spec = config.root
    try:
        if config.method != "rlm" and not config.window_tokens:  # the router's look-up
            from rlm_engine.pricing import context_window

            context_window(spec)
        info = provider_info(spec.provider)
        if info is not None and info.sdk:
            import_sdk(info.sdk)
    except Exception:  # the run does the same itself, and reports what fails
        log.debug("Warming up failed", exc_info=True)
