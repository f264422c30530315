"""A run's events folded into its trace and totals: the one reading of the event stream.

Pure, no I/O: typed events (rlm_engine.events) in, a `Trace` out. The app draws it, the CLI
prints it, and storage keeps running totals with `tally()`, so a counting rule or an event field
is read in one place. Events of a child RLM (`rlm_query`) hang under the sub-call that started
it, as their own `Trace`.

Counting follows rlm_engine.limits (docs/contract.md, "Counting"): `iterations` are the
top-level RLM's root turns (its forced-answer call not counted); `sub_calls` are the `llm` calls
and every root call of a child RLM; tokens and cost add up every root reply (any depth) and every
`llm` call, never an `rlm` call (its usage is its child's calls, counted already). A cost turns
unknown (None) once one call had no known price. The top-level RunFinished then carries the
engine's own totals, which win.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from rlm_engine.events import (
    CodeExecuted,
    Event,
    FinalAnswer,
    GuardFired,
    MethodChosen,
    Notice,
    PassagesFound,
    RootDelta,
    RootResponse,
    RunFinished,
    RunStarted,
    SourcesFound,
    SubCallFinished,
    SubCallStarted,
    Usage,
)
from rlm_engine.parsing import find_code_blocks, strip_code_blocks


@dataclass(frozen=True)
class Tally:
    """What one event adds to its run's totals while the run is live (see the module's rules)."""

    iterations: int = 0
    sub_calls: int = 0
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = 0.0  # None: this call's price is unknown


def tally(event: Event, call_kind: str | None = None) -> Tally:
    """What `event` adds to the totals; `call_kind` is, for a SubCallFinished, the `kind` of its
    SubCallStarted (None: its start was never seen; nothing is counted)."""
    if isinstance(event, RootResponse):
        if event.depth > 0:  # a child RLM's root calls are sub-calls of the run
            return Tally(sub_calls=1, usage=event.usage, cost_usd=event.cost_usd)
        return Tally(iterations=int(not event.forced), usage=event.usage, cost_usd=event.cost_usd)
    if isinstance(event, SubCallStarted) and event.kind == "llm":
        return Tally(sub_calls=1)  # counted when made, as the budget counts it
    if isinstance(event, SubCallFinished) and call_kind == "llm":
        return Tally(usage=event.usage, cost_usd=event.cost_usd)
    return Tally()


@dataclass
class Totals:
    iterations: int = 0
    sub_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0
    elapsed_s: float = 0.0
    cached_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def add(self, counted: Tally) -> None:
        self.iterations += counted.iterations
        self.sub_calls += counted.sub_calls
        self.input_tokens += counted.usage.input_tokens
        self.output_tokens += counted.usage.output_tokens
        self.cached_tokens += counted.usage.cached_tokens
        self.cache_write_tokens += counted.usage.cache_write_tokens
        if self.cost_usd is not None:
            self.cost_usd = None if counted.cost_usd is None else self.cost_usd + counted.cost_usd

    @classmethod
    def of(cls, finished: object) -> Totals:
        """The totals a finished run carries: the engine's own (its RunFinished), or a stored
        run's (storage's RunSummary: what it does not hold stays 0, an unknown time too)."""
        names = [f.name for f in fields(cls) if hasattr(finished, f.name)]
        values = {name: getattr(finished, name) for name in names}
        return cls(**{**values, "elapsed_s": values.get("elapsed_s") or 0.0})


@dataclass
class SubCall:
    call_id: str
    kind: str
    model: str
    prompt: str
    iteration: int
    response: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    elapsed_s: float | None = None
    error: str | None = None
    done: bool = False
    cached_tokens: int = 0  # of input_tokens, read from the provider's prompt cache
    tokens_per_s: float | None = None
    cached: bool = False  # answered from the sub-call cache at $0
    child: Trace | None = None  # the child RLM of an `rlm_query` call
    passages: list[dict[str, Any]] = field(default_factory=list)  # corpus text in the prompt
    batch_id: str | None = None  # one prompt of llm_query_batched: its batch and place in it
    batch_index: int | None = None


@dataclass
class CodeBlock:
    index: int
    code: str
    output: str
    output_chars: int
    elapsed_s: float
    error: str | None
    restarted: bool
    sub_calls: list[SubCall] = field(default_factory=list)
    passages: list[dict[str, Any]] = field(default_factory=list)  # corpus text in the output


@dataclass
class Iteration:
    number: int
    text: str = ""
    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    elapsed_s: float = 0.0
    forced: bool = False
    blocks: list[CodeBlock] = field(default_factory=list)
    cached_tokens: int = 0  # of input_tokens, read from the provider's prompt cache
    cache_write_tokens: int = 0  # of input_tokens, written to it
    tokens_per_s: float | None = None
    first_token_s: float | None = None
    running_sub_calls: list[SubCall] = field(default_factory=list)  # made by a block still running
    fallback: bool = False  # the engine ran its fallback here: its sub-calls belong to no block
    notices: list[Notice | GuardFired] = field(default_factory=list)

    @property
    def code_s(self) -> float:
        """The time its code blocks ran (the root call's time is `elapsed_s`)."""
        return sum(block.elapsed_s for block in self.blocks)

    @property
    def pending_code(self) -> list[str]:
        """The reply's code blocks that have not finished running (the engine runs them in
        order): the app shows them as soon as the reply is complete, before and while they run."""
        if self.forced:
            return []
        return find_code_blocks(self.text)[len(self.blocks) :]

    @property
    def reasoning(self) -> str:
        """The reply without its code blocks (those are drawn on their own, highlighted)."""
        return strip_code_blocks(self.text).strip()


@dataclass
class Trace:
    run_id: str | None = None
    question: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    context_meta: dict[str, Any] = field(default_factory=dict)
    started_at: float | None = None
    iterations: list[Iteration] = field(default_factory=list)
    notices: list[Notice | GuardFired] = field(default_factory=list)  # before the first iteration
    method: str | None = None  # "rlm" or "direct", once the router chose
    method_reason: str | None = None  # why, as the engine said it
    answer: str | None = None
    unsupported: bool = False  # the answer appears in no REPL output the model saw
    fallback: bool = False  # the answer is the engine's fallback's (the run stalled)
    status: str | None = None  # None while running
    error: str | None = None
    totals: Totals = field(default_factory=Totals)
    streaming: str | None = None  # the root reply coming in (RootDelta), until its RootResponse
    sources: list[dict[str, Any]] | None = None  # the answer's sources; None: not reported


def fold(events: Sequence[Event], *, now: float | None = None) -> Trace:
    """A run's events (any order of arrival within the engine's contract) as its Trace, with
    the run's totals: the engine's own once it finished, a running tally until then."""
    by_parent: dict[str | None, list[Event]] = {}
    for event in events:
        by_parent.setdefault(event.parent_call_id, []).append(event)
    trace = _fold(by_parent.get(None, []), by_parent)
    trace.totals = totals(events, started_at=trace.started_at, now=now)
    return trace


class Running:
    """A run's totals as its events come (the app's live view, `rlm chat`'s log): the tally of
    each event, knowing the kind of every sub-call started so far."""

    def __init__(self) -> None:
        self.totals = Totals()
        self._kinds: dict[str, str] = {}

    def add(self, event: Event) -> None:
        if isinstance(event, SubCallStarted):
            self._kinds[event.call_id] = event.kind
        kind = self._kinds.get(event.call_id) if isinstance(event, SubCallFinished) else None
        self.totals.add(tally(event, kind))


def totals(
    events: Iterable[Event], *, started_at: float | None = None, now: float | None = None
) -> Totals:
    """The totals of a run's events (the whole tree): the top-level RunFinished's, else the tally
    so far, with the time since `started_at` until `now`."""
    events = list(events)
    for event in events:
        if isinstance(event, RunFinished) and event.parent_call_id is None:
            return Totals.of(event)
    running = Running()
    for event in events:
        running.add(event)
    if started_at is not None:
        elapsed = (time.time() if now is None else now) - started_at
        running.totals.elapsed_s = max(0.0, elapsed)
    return running.totals


def _fold(events: list[Event], by_parent: dict[str | None, list[Event]]) -> Trace:
    """One RLM's events (the top-level run's or a child's) as its Trace; totals left out."""
    trace = Trace()
    calls: dict[str, SubCall] = {}
    for event in events:
        match event:
            case RunStarted():
                trace.run_id, trace.question = event.run_id, event.question
                trace.config, trace.context_meta = event.config, event.context_meta
                trace.started_at = event.time
            case RootResponse():
                trace.iterations.append(iteration_of(event))
                trace.streaming = None
            case RootDelta():
                trace.streaming = (trace.streaming or "")[: event.offset] + event.text
            case CodeExecuted():
                iteration = _iteration(trace, event.iteration)
                iteration.blocks.append(block_of(event, batch_order(iteration.running_sub_calls)))
                iteration.running_sub_calls = []
            case SubCallStarted():
                call = call_of(event)
                if call.kind == "rlm" and call.call_id in by_parent:
                    call.child = _fold(by_parent[call.call_id], by_parent)
                calls[call.call_id] = call
                _iteration(trace, event.iteration).running_sub_calls.append(call)
            case SubCallFinished():
                if event.call_id in calls:
                    _finish(calls[event.call_id], event)
            case PassagesFound():
                _add_passages(trace, calls, event)
            case SourcesFound():
                trace.sources = [
                    {**source, "cited": n < event.cited} for n, source in enumerate(event.sources)
                ]
            case MethodChosen():
                trace.method, trace.method_reason = event.method, event.reason
            case GuardFired() | Notice():
                (trace.iterations[-1].notices if trace.iterations else trace.notices).append(event)
                fell_back = isinstance(event, GuardFired) and event.action == "fallback"
                if fell_back and trace.iterations:
                    trace.iterations[-1].fallback = True
            case FinalAnswer():
                trace.answer, trace.unsupported = event.answer, event.unsupported
                trace.fallback = event.source == "fallback"
            case RunFinished():
                trace.status, trace.error = event.status, event.error
                if event.answer is not None:
                    trace.answer = event.answer
                trace.fallback = trace.fallback or event.fallback
    return trace


def iteration_of(event: RootResponse) -> Iteration:
    usage = event.usage
    return Iteration(
        number=event.iteration,
        text=event.text,
        model=event.model,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cost_usd=event.cost_usd,
        elapsed_s=event.elapsed_s,
        forced=event.forced,
        cached_tokens=usage.cached_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        tokens_per_s=event.tokens_per_s,
        first_token_s=event.first_token_s,
    )


def block_of(event: CodeExecuted, sub_calls: list[SubCall]) -> CodeBlock:
    return CodeBlock(
        index=event.block_index,
        code=event.code,
        output=event.output,
        output_chars=event.output_chars,
        elapsed_s=event.elapsed_s,
        error=event.error,
        restarted=event.restarted,
        sub_calls=sub_calls,
    )


def call_of(event: SubCallStarted) -> SubCall:
    return SubCall(
        call_id=event.call_id,
        kind=event.kind,
        model=event.model,
        prompt=event.prompt,
        iteration=event.iteration,
        batch_id=event.batch_id,
        batch_index=event.batch_index,
    )


def _finish(call: SubCall, event: SubCallFinished) -> None:
    call.response, call.error, call.done = event.response, event.error, True
    call.input_tokens, call.output_tokens = event.usage.input_tokens, event.usage.output_tokens
    call.cached_tokens = event.usage.cached_tokens
    call.cost_usd, call.elapsed_s = event.cost_usd, event.elapsed_s
    call.tokens_per_s, call.cached = event.tokens_per_s, event.cached


def batch_order(calls: list[SubCall]) -> list[SubCall]:
    """The calls as the code made them: a batch's prompts in the batch's order, at the place of
    its first call to start (its threads start, and finish, in any order)."""
    first: dict[str | None, int] = {}
    for position, call in enumerate(calls):
        first.setdefault(call.batch_id or call.call_id, position)
    return sorted(calls, key=lambda c: (first[c.batch_id or c.call_id], c.batch_index or 0))


def _add_passages(trace: Trace, calls: dict[str, SubCall], event: PassagesFound) -> None:
    """A PassagesFound joins the code block or sub-call it describes."""
    if event.origin == "sub_call":
        if event.call_id in calls:
            calls[event.call_id].passages = list(event.passages)
        return
    for block in reversed(_iteration(trace, event.iteration).blocks):
        if block.index == event.block_index:
            block.passages = list(event.passages)
            return


def _iteration(trace: Trace, number: int) -> Iteration:
    """The iteration an event belongs to; a placeholder if its RootResponse never arrived."""
    for iteration in reversed(trace.iterations):
        if iteration.number == number:
            return iteration
    placeholder = Iteration(number)
    trace.iterations.append(placeholder)
    return placeholder
