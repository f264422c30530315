"""Budgets counted across the whole tree of calls of one run (root, sub-calls, child RLMs).

One `BudgetTracker` is shared by a run and all its children; it is thread-safe because batched
sub-calls report from several threads at once.
"""

from __future__ import annotations

import threading
import time

from rlm_engine.config import Budgets
from rlm_engine.errors import BudgetExceeded
from rlm_engine.events import Usage


class BudgetTracker:
    def __init__(self, budgets: Budgets) -> None:
        self.budgets = budgets
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self.iterations = 0
        self.sub_calls = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost_usd = 0.0
        self.cost_known = True

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    def exhausted(self) -> str | None:
        """Which shared budget (tokens, cost, time) is used up, as a sentence; None if none."""
        b = self.budgets
        with self._lock:
            tokens = self.input_tokens + self.output_tokens
            if b.max_tokens is not None and tokens >= b.max_tokens:
                return f"max_tokens: {tokens:,} of {b.max_tokens:,} tokens used"
            if b.max_cost_usd is not None and self.cost_usd >= b.max_cost_usd:
                return f"max_cost_usd: ${self.cost_usd:.4f} of ${b.max_cost_usd:.4f} spent"
        if b.max_time_s is not None and self.elapsed_s >= b.max_time_s:
            return f"max_time_s: {self.elapsed_s:.0f} s of {b.max_time_s:.0f} s elapsed"
        return None

    def reserve_sub_call(self) -> None:
        """Count one sub-call, or raise BudgetExceeded (the refused call is not counted)."""
        reason = self.exhausted()
        if reason:
            raise BudgetExceeded(reason.split(":")[0], f"Sub-call refused: budget {reason}.")
        with self._lock:
            limit = self.budgets.max_sub_calls
            if limit is not None and self.sub_calls >= limit:
                raise BudgetExceeded(
                    "max_sub_calls", f"Sub-call refused: budget max_sub_calls ({limit}) reached."
                )
            self.sub_calls += 1

    def count_iteration(self) -> None:
        with self._lock:
            self.iterations += 1

    def add_usage(self, usage: Usage, cost_usd: float | None) -> None:
        with self._lock:
            self.input_tokens += usage.input_tokens
            self.output_tokens += usage.output_tokens
            if cost_usd is None:
                self.cost_known = False
            else:
                self.cost_usd += cost_usd

    @property
    def total_cost_usd(self) -> float | None:
        """None as soon as one call had an unknown price: a partial sum would look like a total."""
        return self.cost_usd if self.cost_known else None
