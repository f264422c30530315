"""What the host side of the sandbox exchanges with the loop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class SandboxHandler(Protocol):
    """Host-side answers to the worker's requests. Called on the host, in the host's threads.

    An exception raised here is re-raised inside the sandbox (as a RuntimeError carrying the
    message), so that model-written code sees e.g. a refused budget and can react.
    """

    def llm_query(self, prompt: str) -> str: ...

    def llm_query_batched(self, prompts: list[str]) -> list[str]: ...

    def rlm_query(self, prompt: str, context: Any | None) -> str: ...

    # Optional: `cite(text) -> str` (a handler without it makes `cite` raise in the REPL).
    # Optional: `batch_prompt(prompt, batch_id, position) -> str`, one prompt of a batch with its
    # place in it (a handler without it gets `llm_query_batched([prompt])`).


class StopSignal(Protocol):
    """What `Sandbox.execute(stop=...)` looks at: a `threading.Event`, or anything that can say
    whether it is set (a child RLM stops on the run's cancel or when its caller's block ended)."""

    def is_set(self) -> bool: ...


def cut(text: str, limit: int, what: str = "answer", *, slack: int = 0) -> str:
    """`text` cut to `limit` characters with a marker saying how long it was (the worker's rule);
    `slack`: text up to that much longer is kept (it may carry the worker's marker already)."""
    if len(text) <= limit + slack:
        return text
    return text[:limit] + f"\n... [{what} cut at {limit:,} of {len(text):,} characters]"


@dataclass(frozen=True)
class ReplCaps:
    """Caps on what model code can make the host hold or send (README, "Configuration"): the
    worker refuses or cuts first, the host enforces them again on what arrives."""

    prompt_chars: int = 4_000_000  # one prompt of llm_query, llm_query_batched or rlm_query
    batch_prompts: int = 1_000  # prompts in one llm_query_batched
    answer_chars: int = 1_000_000  # a FINAL answer (and get_var's value) is cut here

    def to_worker(self) -> dict[str, int]:
        return {"prompt": self.prompt_chars, "batch": self.batch_prompts,
                "answer": self.answer_chars}  # fmt: skip


@dataclass(frozen=True)
class ExecResult:
    """The outcome of one code block."""

    output: str  # stdout+stderr (+ repr of a bare last expression), truncated with a marker
    output_chars: int  # length before truncation
    elapsed_s: float
    error: str | None = None  # last line of the traceback when the code raised
    final: str | None = None  # set when the code called FINAL(...) or FINAL_VAR(...)
    restarted: bool = False  # the worker was killed (timeout, crash, memory) and restarted
