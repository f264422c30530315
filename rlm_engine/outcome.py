"""How a run ended: `Outcome`, what the loop decided, and `RunResult`, what the caller gets (the
same figures as the run's RunFinished event)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rlm_engine.events import RunStatus


@dataclass(frozen=True)
class RunResult:
    """What a finished run returns; the same figures as its RunFinished event."""

    run_id: str
    status: RunStatus
    answer: str | None
    error: str | None
    iterations: int
    sub_calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    elapsed_s: float
    cached_tokens: int = 0  # of input_tokens: read from the providers' prompt caches
    cache_write_tokens: int = 0  # of input_tokens: written to them
    unsupported: bool = False  # the answer appears in no REPL output the model saw
    method: str = "rlm"  # "direct": the root model read the corpus itself
    fallback: bool = False  # the answer is the engine's fallback's (rlm_engine.fallback)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass
class Outcome:
    """How one RLM ended, before the tree's totals are added (RLMRun.emit_finished)."""

    status: RunStatus
    answer: str | None = None
    error: str | None = None
    unsupported: bool = False
    fallback: bool = False
