"""The host side of the REPL's model calls (`llm_query`, `llm_query_batched`, `rlm_query`).

Each call is checked against the run's budgets, announced (SubCallStarted), made, and finished
(SubCallFinished) exactly once, also when the block that made it ends first.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from rlm_engine.caps import check_prompt
from rlm_engine.config import ModelSpec
from rlm_engine.errors import BudgetExceeded, RLMError
from rlm_engine.events import SubCallFinished, SubCallStarted, Usage
from rlm_engine.guards import QUESTION_ONLY_REFUSED
from rlm_engine.shared import OutOfTime
from rlm_engine.subcall_cache import sub_call_key

if TYPE_CHECKING:
    from rlm_engine.events import Event
    from rlm_engine.guards import RunGuards
    from rlm_engine.limits import Spend
    from rlm_engine.sandbox import Sandbox
    from rlm_engine.shared import Halt, RunShared

log = logging.getLogger(__name__)

CHILD_STOP_S = 5.0
"""How long a block's end waits for an abandoned child RLM to stop (its code block may need to
be interrupted, which takes up to 2 s)."""
_BLOCK_ENDED = "The code block ended before this call returned; its answer was dropped."
SANDBOX_WAIT_POLL_S = 0.1
SANDBOXES_FULL = (
    "rlm_query ran as a plain llm_query (no child RLM, no context): the run already has "
    "{live} live sandboxes, its cap (max_sandboxes). Call rlm_query from fewer threads at once."
)


class ChildOutcome(Protocol):
    """How a child RLM ended, as its `rlm_query` reports it."""

    status: str
    answer: str | None
    error: str | None


class ChildRun(Protocol):
    """A child RLM, as the `rlm_query` that started it drives it."""

    halt: Halt
    finished: threading.Event
    spend: Spend

    def run_as_child(self, context: Any) -> ChildOutcome: ...


class CallingRun(Protocol):
    """What the calls need of the RLM whose REPL makes them (loop.RLMRun is one): its place in
    the tree, its budgets and guards, its sandbox, a way to report, and children of its own."""

    shared: RunShared
    question: str
    depth: int
    iteration: int
    halt: Halt
    spend: Spend
    guards: RunGuards
    sandbox: Sandbox

    def emit(self, cls: type[Event], **fields: Any) -> None: ...

    def notice(self, message: str) -> None: ...

    def child(self, question: str, call_id: str) -> ChildRun: ...


class ReplCalls:
    """The host side of `llm_query`, `llm_query_batched` and `rlm_query` for one RLM.

    Raising here raises inside the REPL, so a refused budget or a failed provider reaches the
    model-written code as an exception it can see (and catch).
    """

    def __init__(self, run: CallingRun) -> None:
        self.run = run
        self.shared = run.shared
        self._open: dict[str, float] = {}  # call id -> start (monotonic) of calls not finished
        self._children: dict[str, ChildRun] = {}  # call id -> child RLM of an open rlm_query
        self._open_lock = threading.Lock()
        self._block = 0  # counts ended blocks: a call waiting for a sandbox sees its block end
        self._notes: list[str] = []  # for the model, with the next REPL results

    def llm_query(self, prompt: str) -> str:
        return self._sub_call(str(prompt))

    def llm_query_batched(self, prompts_: list[str]) -> list[str]:
        batch_id = uuid.uuid4().hex

        def one(position: int, prompt: str) -> str:
            return self.batch_prompt(prompt, batch_id, position)

        workers = max(1, min(self.shared.config.max_concurrency, len(prompts_)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sub-call") as pool:
            return list(pool.map(one, range(len(prompts_)), prompts_))

    def batch_prompt(self, prompt: str, batch_id: str, position: int) -> str:
        """One prompt of a batch (the sandbox splits batches): its answer, or its error."""
        try:
            return self._sub_call(str(prompt), batch=(batch_id, position))
        except Exception as exc:  # one failed prompt must not fail the batch
            return f"Error: {exc}"

    def cite(self, text: str) -> str:
        """A citation of the answer's source, checked against the corpus (rlm_engine.sources).
        Text that is verbatim in `context` is also evidence for the answer (rlm_engine.guards)."""
        self.run.guards.cited(str(text), self.run.sandbox.context)
        if self.shared.sources is None:
            return "Citations are not checked in this run: nothing was recorded."
        return str(self.shared.sources.cite(str(text), self.run))

    def rlm_query(self, prompt: str, context: Any | None = None) -> str:
        if self.run.depth + 1 >= self.shared.config.budgets.max_depth:
            return self._sub_call(str(prompt))
        if not self._take_sandbox():
            self._note_once(SANDBOXES_FULL.format(live=self.shared.config.max_sandboxes))
            return self._sub_call(str(prompt))
        try:
            return self._child_rlm(str(prompt), prompt if context is None else context)
        finally:
            self.shared.sandbox_slots.release()

    def _take_sandbox(self) -> bool:
        """A slot for one more live sandbox in the run's tree (False: none, fall back).

        The top-level RLM's calls wait for a slot; deeper ones never wait, so every child RLM
        ends in bounded time and frees its slot (no deadlock). A wait ends with its block.
        """
        slots = self.shared.sandbox_slots
        if self.shared.child_sandboxes == 0:
            return False
        if slots.acquire(blocking=False):
            return True
        if self.run.depth > 0:
            return False
        block = self._block
        while not slots.acquire(timeout=SANDBOX_WAIT_POLL_S):
            self.run.halt.check()
            if self._block != block:
                raise RLMError("rlm_query: its code block ended while it waited for a sandbox")
            deadline = self.shared.tracker.deadline
            if deadline is not None and time.monotonic() >= deadline:
                return False
        if self._block != block:
            slots.release()
            raise RLMError("rlm_query: its code block ended while it waited for a sandbox")
        return True

    def _note_once(self, message: str) -> None:
        """Tell the user (a Notice) and the model (with the next REPL results), once a block."""
        with self._open_lock:
            if message in self._notes:
                return
            self._notes.append(message)
        self.run.notice(message)

    def take_notes(self) -> list[str]:
        """What the model must hear about this block's calls (said once)."""
        with self._open_lock:
            notes, self._notes = self._notes, []
        return notes

    def _start_call(
        self, kind: str, spec: ModelSpec, prompt: str, batch: tuple[str, int] | None = None
    ) -> str:
        """The checks and the SubCallStarted event of a call. An `llm` call is counted here; an
        `rlm` call is only a container (its child's root calls are counted one by one), but is
        refused up front when no call could pass, rather than start a sandbox for nothing."""
        self.run.halt.check()
        check_prompt("llm_query" if kind == "llm" else "rlm_query", prompt,
                     self.run.sandbox.caps.prompt_chars)  # fmt: skip
        if not self.shared.config.sub_calls_enabled:
            raise RLMError("Sub-calls are disabled for this run: work with code alone.")
        if kind == "llm":
            self.shared.tracker.reserve_sub_call()
        else:
            self.shared.tracker.check_sub_call()
        call_id = uuid.uuid4().hex
        with self._open_lock:
            self._open[call_id] = time.monotonic()
        self.run.emit(
            SubCallStarted,
            call_id=call_id,
            iteration=self.run.iteration,
            kind=kind,
            model=spec.label,
            prompt=prompt,
            batch_id=batch[0] if batch else None,
            batch_index=batch[1] if batch else None,
        )
        return call_id

    def _sub_call(self, prompt: str, batch: tuple[str, int] | None = None) -> str:
        run = self.run
        if run.guards.refuses_prompt(prompt, run.question, run.sandbox.context):
            run.notice(QUESTION_ONLY_REFUSED)
            raise RLMError(QUESTION_ONLY_REFUSED)
        spec = self.shared.config.sub_model
        call_id = self._start_call("llm", spec, prompt, batch)
        temperature = 0.0 if spec.provider == "local" else None
        key = self._cache_key(spec, prompt, temperature)
        cached = self._cached(key)
        if cached is not None:
            self._finish_call(call_id, cached, (Usage(), 0.0), cached=True)
            return cached
        try:
            provider = self.shared.provider(spec)
            completion = self.shared.wait_for(
                lambda: provider.complete(
                    [{"role": "user", "content": prompt}], temperature=temperature
                ),
                deadline=self.shared.tracker.deadline,
                halt=self.run.halt,
            )
        except OutOfTime:
            exc = BudgetExceeded(
                "max_time_s", "Sub-call abandoned: the time budget (max_time_s) is used up."
            )
            self._finish_call(call_id, "", None, error=str(exc))
            raise exc from None
        except Exception as exc:
            self._finish_call(call_id, "", None, error=str(exc))
            raise
        cost = self.shared.cost(spec, completion.usage)
        self.shared.tracker.add_usage(completion.usage, cost)
        self.run.spend.add(completion.usage, cost)
        self._finish_call(
            call_id, completion.text, (completion.usage, cost), speed=completion.tokens_per_s
        )
        if key is not None:
            self._keep(key, spec, completion.text)
        return completion.text

    def _cache_key(self, spec: ModelSpec, prompt: str, temperature: float | None) -> str | None:
        if self.shared.sub_call_cache is None:
            return None
        params = {"temperature": temperature, "max_tokens": None, "stop": None}
        return sub_call_key(self.shared.corpus, spec, prompt, params)

    def _cached(self, key: str | None) -> str | None:
        """The stored answer for `key`; a store that fails is logged and skipped, never fatal."""
        if key is None or self.shared.sub_call_cache is None:
            return None
        try:
            return self.shared.sub_call_cache.get(key)
        except Exception:
            log.warning("The sub-call cache could not be read", exc_info=True)
            return None

    def _keep(self, key: str, spec: ModelSpec, response: str) -> None:
        cache = self.shared.sub_call_cache
        if cache is None:
            return
        try:
            cache.put(key, spec.label, response)
        except Exception:
            log.warning("The sub-call cache could not be written", exc_info=True)

    def _child_rlm(self, prompt: str, context: Any) -> str:
        spec = self.shared.config.sub_model
        call_id = self._start_call("rlm", spec, prompt)
        child = self.run.child(prompt, call_id)
        with self._open_lock:
            self._children[call_id] = child
        try:
            outcome = child.run_as_child(context)
        finally:
            with self._open_lock:
                self._children.pop(call_id, None)
        # The child's calls, summed: the usage of this call (counted once, in the totals already).
        spent = (child.spend.usage, child.spend.cost_usd)
        self.run.spend.add(*spent)
        error = None
        if outcome.answer is None:
            error = outcome.error or f"the child RLM ended ({outcome.status}) without an answer"
        self._finish_call(call_id, outcome.answer or "", spent, error=error)
        if error:
            raise RLMError(f"rlm_query failed: {error}")
        return outcome.answer or ""

    def close_open_calls(self) -> None:
        """End the calls of a block that is over (stopped, timed out, or left a thread calling):
        the sandbox drops their answers, so their SubCallFinished comes now, not after the
        block's CodeExecuted or the run's end; a late answer is not reported."""
        with self._open_lock:
            self._block += 1
            open_ids = list(self._open)
            children = list(self._children.values())
        for child in children:  # nobody waits for their answers: they stop at their next step
            child.halt.end()
        for child in children:  # and their last events come before this block's CodeExecuted
            child.finished.wait(CHILD_STOP_S)
        why = "The run was stopped." if self.shared.cancel.is_set() else _BLOCK_ENDED
        for call_id in open_ids:
            self._finish_call(call_id, "", None, error=why)

    def _finish_call(
        self,
        call_id: str,
        response: str,
        usage_cost: tuple[Usage, float | None] | None,
        *,
        error: str | None = None,
        speed: float | None = None,
        cached: bool = False,
    ) -> None:
        """The SubCallFinished of an open call; nothing if the call was closed already."""
        with self._open_lock:
            started = self._open.pop(call_id, None)
        if started is None:
            return
        usage, cost = usage_cost if usage_cost else (Usage(), 0.0 if error else None)
        self.run.emit(
            SubCallFinished,
            call_id=call_id,
            response=response,
            usage=usage,
            cost_usd=cost,
            elapsed_s=time.monotonic() - started,
            error=error,
            tokens_per_s=speed,
            cached=cached,
        )
