"""Budgets counted across the whole tree of calls of one run (root, sub-calls, child RLMs).

One `BudgetTracker` is shared by a run and all its children; it is thread-safe because batched
sub-calls report from several threads at once. What counts (docs/contract.md, "Counting"):

- `iterations`: root turns of the top-level RLM (its forced-answer call not counted);
- `sub_calls`: every model call made for the REPL: each `llm_query` (each prompt of a batch, the
  fallback of `rlm_query` at max depth) and every root call of a child RLM (its forced-answer call
  too). The `rlm_query` call itself is a container, not a call; a refused call is not counted.
"""

from __future__ import annotations

import threading
import time

from rlm_engine.config import Budgets
from rlm_engine.errors import BudgetExceeded
from rlm_engine.events import Usage


class Spend:
    """Tokens and cost of a group of calls. Thread-safe.

    The cost turns unknown (None) as soon as one call had an unknown price: a partial sum would
    look like a total.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._usage = Usage()
        self._cost = 0.0
        self._cost_known = True

    def add(self, usage: Usage, cost_usd: float | None) -> None:
        with self._lock:
            self._usage = self._usage + usage
            if cost_usd is None:
                self._cost_known = False
            else:
                self._cost += cost_usd

    @property
    def usage(self) -> Usage:
        with self._lock:
            return self._usage

    @property
    def input_tokens(self) -> int:
        return self.usage.input_tokens

    @property
    def output_tokens(self) -> int:
        return self.usage.output_tokens

    @property
    def known_cost_usd(self) -> float:
        """What the calls with a known price cost: what a cost budget can be held to."""
        with self._lock:
            return self._cost

    @property
    def cost_usd(self) -> float | None:
        with self._lock:
            return self._cost if self._cost_known else None


class BudgetTracker:
    def __init__(self, budgets: Budgets) -> None:
        self.budgets = budgets
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self.iterations = 0
        self.sub_calls = 0
        self.spend = Spend()

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    @property
    def deadline(self) -> float | None:
        """When the time budget runs out, on the `time.monotonic()` clock; None if unlimited."""
        limit = self.budgets.max_time_s
        return None if limit is None else self.started + limit

    def time_left_s(self) -> float | None:
        """Seconds left of the time budget (0 or less once used up); None if unlimited."""
        deadline = self.deadline
        return None if deadline is None else deadline - time.monotonic()

    def exhausted(self) -> str | None:
        """Which shared budget (tokens, cost, time) is used up, as a sentence; None if none."""
        b = self.budgets
        tokens = self.input_tokens + self.output_tokens
        if b.max_tokens is not None and tokens >= b.max_tokens:
            return f"max_tokens: {tokens:,} of {b.max_tokens:,} tokens used"
        cost = self.spend.known_cost_usd
        if b.max_cost_usd is not None and cost >= b.max_cost_usd:
            return f"max_cost_usd: ${cost:.4f} of ${b.max_cost_usd:.4f} spent"
        deadline = self.deadline
        if deadline is not None and b.max_time_s is not None and time.monotonic() >= deadline:
            return f"max_time_s: {self.elapsed_s:.0f} s of {b.max_time_s:.0f} s elapsed"
        return None

    def check_sub_call(self) -> None:
        """Raise BudgetExceeded if a sub-call would be refused now; counts nothing."""
        reason = self.exhausted()
        if reason:
            raise BudgetExceeded(reason.split(":")[0], f"Sub-call refused: budget {reason}.")
        limit = self.budgets.max_sub_calls
        if limit is not None and self.sub_calls >= limit:
            raise BudgetExceeded(
                "max_sub_calls", f"Sub-call refused: budget max_sub_calls ({limit}) reached."
            )

    def reserve_sub_call(self) -> None:
        """Count one sub-call, or raise BudgetExceeded (the refused call is not counted)."""
        with self._lock:
            self.check_sub_call()
            self.sub_calls += 1

    def count_iteration(self) -> None:
        with self._lock:
            self.iterations += 1

    def add_usage(self, usage: Usage, cost_usd: float | None) -> None:
        self.spend.add(usage, cost_usd)

    @property
    def input_tokens(self) -> int:
        return self.spend.input_tokens

    @property
    def output_tokens(self) -> int:
        return self.spend.output_tokens

    @property
    def total_cost_usd(self) -> float | None:
        """None as soon as one call had an unknown price: a partial sum would look like a total."""
        return self.spend.cost_usd
