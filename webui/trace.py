"""A run's events (as dicts) folded into what the pages draw: iterations, code blocks, sub-calls.

Pure data, no Streamlit: the Ask page folds the live event list, History folds the stored one,
and both draw the result the same way (`webui.draw`). Events of a child RLM (`rlm_query`) hang
under the sub-call that started it, as their own `Trace`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from rlm_engine.parsing import find_code_blocks

_CODE_BLOCK = re.compile(r"```[ \t]*(?:repl|python|py)?[ \t]*\n.*?```", re.DOTALL)


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
    text: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    elapsed_s: float
    forced: bool
    blocks: list[CodeBlock] = field(default_factory=list)
    cached_tokens: int = 0  # of input_tokens, read from the provider's prompt cache
    cache_write_tokens: int = 0  # of input_tokens, written to it
    tokens_per_s: float | None = None
    first_token_s: float | None = None
    running_sub_calls: list[SubCall] = field(default_factory=list)  # made by a block still running
    fallback: bool = False  # the engine ran its fallback here: its sub-calls belong to no block
    notices: list[str] = field(default_factory=list)

    @property
    def code_s(self) -> float:
        """The time its code blocks ran (the root call's time is `elapsed_s`)."""
        return sum(block.elapsed_s for block in self.blocks)

    @property
    def pending_code(self) -> list[str]:
        """The reply's code blocks that have not finished running (the engine runs them in
        order), shown while they run."""
        if self.forced:
            return []
        return find_code_blocks(self.text)[len(self.blocks) :]

    @property
    def reasoning(self) -> str:
        """The reply without its code blocks (those are drawn on their own, highlighted)."""
        return _CODE_BLOCK.sub("", self.text).strip()


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


@dataclass
class Trace:
    run_id: str | None = None
    question: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    context_meta: dict[str, Any] = field(default_factory=dict)
    started_at: float | None = None
    iterations: list[Iteration] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # before the first iteration
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


def build_trace(events: list[dict[str, Any]], *, now: float | None = None) -> Trace:
    """Fold a run's events (any order of arrival within the engine's contract) into a Trace."""
    by_parent: dict[str | None, list[dict[str, Any]]] = {}
    for event in events:
        by_parent.setdefault(event.get("parent_call_id"), []).append(event)
    trace = _fold(by_parent.get(None, []), by_parent)
    trace.totals = _totals(events, trace, time.time() if now is None else now)
    return trace


def _fold(events: list[dict[str, Any]], by_parent: dict[str | None, list[dict[str, Any]]]) -> Trace:
    trace = Trace()
    calls: dict[str, SubCall] = {}
    for event in events:
        kind = event.get("type")
        if kind == "run_started":
            trace.run_id = event.get("run_id")
            trace.question = event.get("question", "")
            trace.config = event.get("config") or {}
            trace.context_meta = event.get("context_meta") or {}
            trace.started_at = event.get("time")
        elif kind == "root_response":
            usage = event.get("usage") or {}
            trace.iterations.append(
                Iteration(
                    number=event.get("iteration", len(trace.iterations) + 1),
                    text=event.get("text", ""),
                    model=event.get("model", ""),
                    input_tokens=usage.get("input_tokens", 0),
                    output_tokens=usage.get("output_tokens", 0),
                    cost_usd=event.get("cost_usd"),
                    elapsed_s=event.get("elapsed_s", 0.0),
                    forced=bool(event.get("forced")),
                    cached_tokens=usage.get("cached_tokens", 0),
                    cache_write_tokens=usage.get("cache_write_tokens", 0),
                    tokens_per_s=event.get("tokens_per_s"),
                    first_token_s=event.get("first_token_s"),
                )
            )
            trace.streaming = None
        elif kind == "root_delta":
            text = trace.streaming or ""
            trace.streaming = text[: event.get("offset", len(text))] + event.get("text", "")
        elif kind == "code_executed":
            iteration = _iteration(trace, event)
            block = CodeBlock(
                index=event.get("block_index", len(iteration.blocks)),
                code=event.get("code", ""),
                output=event.get("output", ""),
                output_chars=event.get("output_chars", 0),
                elapsed_s=event.get("elapsed_s", 0.0),
                error=event.get("error"),
                restarted=bool(event.get("restarted")),
                sub_calls=batch_order(iteration.running_sub_calls),
            )
            iteration.running_sub_calls = []
            iteration.blocks.append(block)
        elif kind == "sub_call_started":
            call = SubCall(
                call_id=event["call_id"],
                kind=event.get("kind", "llm"),
                model=event.get("model", ""),
                prompt=event.get("prompt", ""),
                iteration=event.get("iteration", 0),
                batch_id=event.get("batch_id"),
                batch_index=event.get("batch_index"),
            )
            if call.kind == "rlm" and call.call_id in by_parent:
                call.child = _fold(by_parent[call.call_id], by_parent)
            calls[call.call_id] = call
            _iteration(trace, event).running_sub_calls.append(call)
        elif kind == "sub_call_finished":
            call = calls.get(event.get("call_id", ""))
            if call is not None:
                usage = event.get("usage") or {}
                call.response = event.get("response")
                call.input_tokens = usage.get("input_tokens", 0)
                call.output_tokens = usage.get("output_tokens", 0)
                call.cost_usd = event.get("cost_usd")
                call.elapsed_s = event.get("elapsed_s")
                call.error = event.get("error")
                call.done = True
                call.cached_tokens = usage.get("cached_tokens", 0)
                call.tokens_per_s = event.get("tokens_per_s")
                call.cached = bool(event.get("cached"))
        elif kind == "passages_found":
            _add_passages(trace, calls, event)
        elif kind == "sources_found":
            cited = int(event.get("cited") or 0)
            found = event.get("sources") or []
            trace.sources = [{**s, "cited": n < cited} for n, s in enumerate(found)]
        elif kind == "method_chosen":
            trace.method = event.get("method")
            trace.method_reason = event.get("reason")
        elif kind == "guard_fired":
            target = trace.iterations[-1].notices if trace.iterations else trace.notices
            target.append(guard_line(event))
            if event.get("action") == "fallback" and trace.iterations:
                trace.iterations[-1].fallback = True
        elif kind == "notice":
            target = trace.iterations[-1].notices if trace.iterations else trace.notices
            target.append(event.get("message", ""))
        elif kind == "final_answer":
            trace.answer = event.get("answer")
            trace.unsupported = bool(event.get("unsupported"))
            trace.fallback = event.get("source") == "fallback"
        elif kind == "run_finished":
            trace.status = event.get("status")
            trace.error = event.get("error")
            if event.get("answer") is not None:
                trace.answer = event.get("answer")
            trace.fallback = trace.fallback or bool(event.get("fallback"))
    return trace


def batch_order(calls: list[SubCall]) -> list[SubCall]:
    """The calls as the code made them: a batch's prompts in the batch's order, at the place of
    its first call to start (its threads start, and finish, in any order)."""
    first: dict[str | None, int] = {}
    for position, call in enumerate(calls):
        first.setdefault(call.batch_id or call.call_id, position)
    return sorted(calls, key=lambda c: (first[c.batch_id or c.call_id], c.batch_index or 0))


def _add_passages(trace: Trace, calls: dict[str, SubCall], event: dict[str, Any]) -> None:
    """A PassagesFound joins the code block or sub-call it describes."""
    passages = list(event.get("passages") or [])
    if event.get("origin") == "sub_call":
        call = calls.get(event.get("call_id") or "")
        if call is not None:
            call.passages = passages
        return
    for block in reversed(_iteration(trace, event).blocks):
        if block.index == event.get("block_index"):
            block.passages = passages
            return


GUARD_ACTIONS = {
    "refused": "the answer was refused",
    "fallback": "the engine ran its fallback",
    "noted": "the model was told",
}


def guard_line(event: dict[str, Any]) -> str:
    """A GuardFired event as one line of the trace: which guard, what it did, why."""
    action = GUARD_ACTIONS.get(str(event.get("action")), str(event.get("action")))
    return f"Guard **{event.get('guard')}** fired ({action}): {event.get('message', '')}"


def _iteration(trace: Trace, event: dict[str, Any]) -> Iteration:
    """The iteration an event belongs to; a placeholder if its RootResponse never arrived."""
    number = event.get("iteration", 0)
    for iteration in reversed(trace.iterations):
        if iteration.number == number:
            return iteration
    placeholder = Iteration(number, "", "", 0, 0, None, 0.0, False)
    trace.iterations.append(placeholder)
    return placeholder


def _totals(events: list[dict[str, Any]], trace: Trace, now: float) -> Totals:
    """The run's own totals once it finished; a running tally from the events until then."""
    for event in events:
        if event.get("type") == "run_finished" and event.get("parent_call_id") is None:
            return Totals(
                iterations=event.get("iterations", 0),
                sub_calls=event.get("sub_calls", 0),
                input_tokens=event.get("input_tokens", 0),
                output_tokens=event.get("output_tokens", 0),
                cost_usd=event.get("cost_usd"),
                elapsed_s=event.get("elapsed_s", 0.0),
                cached_tokens=event.get("cached_tokens", 0),
                cache_write_tokens=event.get("cache_write_tokens", 0),
            )
    totals = Totals()
    kinds: dict[str, str] = {}
    for event in events:
        kind = event.get("type")
        if kind == "root_response":
            if event.get("depth", 0) > 0:
                totals.sub_calls += 1  # a child RLM's root calls are sub-calls of the run
            elif not event.get("forced"):
                totals.iterations += 1
            _add_usage(totals, event)
        elif kind == "sub_call_started":
            kinds[event.get("call_id", "")] = event.get("kind", "llm")
            if kinds[event.get("call_id", "")] == "llm":  # an rlm call only holds its child's
                totals.sub_calls += 1
        elif kind == "sub_call_finished" and kinds.get(event.get("call_id", "")) == "llm":
            _add_usage(totals, event)  # an rlm call's usage is its child's root responses
    if trace.started_at is not None:
        totals.elapsed_s = max(0.0, now - trace.started_at)
    return totals


def _add_usage(totals: Totals, event: dict[str, Any]) -> None:
    usage = event.get("usage") or {}
    totals.input_tokens += usage.get("input_tokens", 0)
    totals.output_tokens += usage.get("output_tokens", 0)
    totals.cached_tokens += usage.get("cached_tokens", 0)
    totals.cache_write_tokens += usage.get("cache_write_tokens", 0)
    cost = event.get("cost_usd")
    totals.cost_usd = None if cost is None or totals.cost_usd is None else totals.cost_usd + cost


def activity(events: list[dict[str, Any]]) -> str:
    """What the run is doing now, from its latest root-level event."""
    last = next((e for e in reversed(events) if e.get("parent_call_id") is None), None)
    kind = last.get("type") if last else None
    if kind is None:
        return "Starting the REPL and the first root call…"
    if kind == "root_delta":
        return "The root model is answering…"
    if kind == "root_response":
        return "Running the code…"
    if kind in ("sub_call_started", "sub_call_finished"):
        return "Running the code · sub-calls in flight…"
    if kind in ("final_answer", "run_finished"):
        return "Finishing…"
    return "Waiting for the root model…"


STATUS_LABELS = {"cancelled": "stopped", "limit": "budget reached", None: "running"}


def status_label(status: str | None) -> str:
    """The one word the app shows for a stored status ("cancelled" is shown as "stopped")."""
    return STATUS_LABELS.get(status, str(status))


def format_cost(cost: float | None) -> str:
    """Unknown prices are never shown as $0."""
    if cost is None:
        return "unknown"
    if cost == 0:
        return "$0"
    if cost < 0.0001:
        return "<$0.0001"
    return f"${cost:.4f}" if cost < 1 else f"${cost:.2f}"


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def format_speed(tokens_per_s: float | None) -> str:
    """Output tokens per second of one call ("" when unknown)."""
    return "" if not tokens_per_s else f"{tokens_per_s:,.1f} tok/s"


def cache_note(cached: int, written: int) -> str:
    """What the prompt cache did, in words ("" when nothing)."""
    parts = []
    if cached:
        parts.append(f"{cached:,} cached")
    if written:
        parts.append(f"{written:,} written to cache")
    return ", ".join(parts)


def format_tokens(tokens: int) -> str:
    return f"{tokens / 1000:.1f}k" if tokens >= 10_000 else str(tokens)


def plural(count: int, word: str) -> str:
    """ "1 document", "2 documents"."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"
