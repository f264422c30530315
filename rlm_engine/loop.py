"""The RLM loop (the paper's Algorithm 1).

root call -> run every ```repl block of the reply in the sandbox -> send the (truncated) output
back as the next user message -> repeat, until a FINAL answer or a budget ends the run. A budget
ending the run earns one last root call that must answer from what the model has seen (`limit`).

`RLMRun` is one RLM at one depth. The top-level run and every child RLM started by `rlm_query`
share one `BudgetTracker`, so that budgets hold across the whole tree of calls.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from rlm_engine import direct, fallback, first_look, history, prompts, router
from rlm_engine.caps import repl_caps
from rlm_engine.config import Credentials, ModelSpec, RunConfig
from rlm_engine.errors import (
    BudgetExceeded,
    Cancelled,
    ProviderAuthError,
    ProviderError,
    ProviderUnavailable,
    RLMError,
)
from rlm_engine.events import (
    CodeExecuted,
    Event,
    FinalAnswer,
    GuardFired,
    MethodChosen,
    Notice,
    RootDelta,
    RootResponse,
    RunFinished,
    RunStarted,
    RunStatus,
    Usage,
)
from rlm_engine.guards import RunGuards
from rlm_engine.limits import Spend
from rlm_engine.parsing import (
    find_code_blocks,
    find_final,
    unfenced_code,
    unlabelled_code,
    without_final,
)
from rlm_engine.providers import Message
from rlm_engine.providers.registry import sub_call_chars
from rlm_engine.repl_calls import ReplCalls
from rlm_engine.sandbox import ExecResult, Sandbox
from rlm_engine.shared import EventCallback, Halt, OutOfTime, RunShared
from rlm_engine.stall import Fired, Watch
from rlm_engine.streaming import DeltaStream
from rlm_engine.subcall_cache import SubCallCache, corpus_fingerprint
from rlm_engine.text import describe_error, valid_text

log = logging.getLogger(__name__)

Context = str | list[str]


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
class _Outcome:
    status: RunStatus
    answer: str | None = None
    error: str | None = None
    unsupported: bool = False
    fallback: bool = False


class RLMRun:
    """One RLM: a root model working on one `context` in one sandbox, at one depth."""

    def __init__(
        self,
        shared: RunShared,
        *,
        question: str,
        sandbox: Sandbox,
        root_spec: ModelSpec,
        depth: int = 0,
        parent_call_id: str | None = None,
        parent_halt: Halt | None = None,
    ) -> None:
        self.shared = shared
        self.config = shared.config
        self.question = question
        self.sandbox = sandbox
        self.root_spec = root_spec
        self.depth = depth
        self.parent_call_id = parent_call_id
        self.halt = Halt(shared.cancel, parent_halt)
        self.finished = threading.Event()  # set once a child RLM has emitted its RunFinished
        self.iteration = 0  # root turns of this RLM: each RLM has its own max_iterations
        # The variant follows this RLM's own root model: a child's root is the sub model.
        self.small = prompts.uses_small_variant(self.config, root_spec)
        self.stop = prompts.stop_sequences(small=self.small)
        self.read_context = False
        self.history_elided = False
        self.spend = Spend()  # this RLM's calls and its children's: an rlm_query call's usage
        self.guards = RunGuards(self.config.guards, question, small=self.small)
        self.watch = Watch(self.config.guards, small=self.small, top=depth == 0)
        self.method = "rlm"  # how the answer was found: "direct" once a direct read answered
        self.repl_calls = ReplCalls(self)

    # -- events ---------------------------------------------------------------------------
    def emit(self, cls: type[Event], **fields: Any) -> None:
        event = cls(
            run_id=self.shared.run_id,
            depth=self.depth,
            parent_call_id=self.parent_call_id,
            **fields,
        )
        self.watch.observe(event)
        self.shared.emit(event)

    # -- the loop -------------------------------------------------------------------------
    def execute(self, context_meta: dict[str, Any], context: Context | None = None) -> _Outcome:
        """The whole RLM: its events from RunStarted on, and how it ended (never raises for
        what a model or a budget does). With `context` (the top-level run) the router may have
        the root model read it directly instead."""
        self.emit(
            RunStarted,
            question=self.question,
            config=self.config.to_dict(),
            context_meta=context_meta,
        )
        if self.depth == 0:
            self.warn_if_cost_unenforceable()
        try:
            if context is not None:
                outcome = self.route(context, int(context_meta.get("total_chars") or 0))
                if outcome is not None:
                    return outcome
            return self.iterate(self.initial_messages(context_meta))
        except Cancelled as exc:
            return _Outcome("cancelled", error=str(exc))
        except BudgetExceeded as exc:  # a child RLM's root call refused: it cannot even answer
            return _Outcome("limit", error=str(exc))
        except RLMError as exc:
            return _Outcome("failed", error=str(exc))

    def route(self, context: Context, total_chars: int) -> _Outcome | None:
        """The router's choice (a MethodChosen event) and, for a direct read, its outcome; None
        when the RLM answers (chosen, or auto's direct read refused by the provider)."""
        choice = router.choose(self.config, total_chars, self.root_spec)
        self.emit(
            MethodChosen,
            method=choice.method,
            requested=choice.requested,
            reason=choice.reason,
            corpus_tokens=choice.corpus_tokens,
            window_tokens=choice.window_tokens,
            cut=choice.cut,
        )
        if choice.method == "rlm":
            return None
        reason = self.budget_reason()
        if reason:
            return _Outcome("limit", error=f"The budget is used up ({reason}).")
        try:
            answer = direct.read(self, context, choice)
        except (ProviderAuthError, ProviderUnavailable):
            raise
        except ProviderError as exc:
            if choice.requested != "auto":
                raise
            self.notice(f"Reading directly failed ({exc}); the RLM answers instead.")
            return None
        if answer is None:
            reason = self.budget_reason() or "max_time_s"
            return _Outcome("limit", error=f"The budget ran out during the direct read ({reason}).")
        self.method = "direct"
        return _Outcome("completed", answer=answer)

    def iterate(self, messages: list[Message]) -> _Outcome:
        """Root turns until a final answer; a used-up budget earns one forced-answer call."""
        while True:
            self.halt.check()
            reason = self.budget_reason()
            if reason:
                return self.forced_answer(messages, reason)
            self.fit_history(messages)
            reply = self.root_call(messages)
            if reply is None:  # the time budget ran out during the call: budget_reason says so
                continue
            messages.append({"role": "assistant", "content": reply})
            blocks_before = self.watch.blocks_run
            answer, follow_up = self.handle_reply(reply)
            if answer is None:
                answer, follow_up = self.after_turn(
                    self.watch.blocks_run > blocks_before, follow_up
                )
            if answer is not None:
                return _Outcome(
                    "completed",
                    answer=answer,
                    unsupported=self.guards.unsupported,
                    fallback=self.watch.fallback_ran and answer == self.watch.offered,
                )
            messages.append({"role": "user", "content": follow_up})

    def after_turn(self, ran_code: bool, follow_up: str) -> tuple[str | None, str]:
        """The idle limit and the stall rule (rlm_engine.stall); one that fires runs the fallback,
        whose answer may end the run."""
        fired = self.watch.code_turn() if ran_code else self.watch.idle_reply()
        if fired is None:
            return None, follow_up
        answer, note = fallback.rescue(self, fired)
        if answer is not None:
            self.watch.offered = answer  # marks the outcome as the fallback's
            return answer, ""
        return None, f"{follow_up}\n\n{note}"

    def judge(self, answer: str, variable: str | None = None) -> str | None:
        """None to accept a final answer; else why not (the answer gates, then the evidence)."""
        gate = self.watch.gate_final()
        if gate is not None:
            self.guard_fired(gate, "refused")
            return gate.message
        return self.guards.judge_final(answer, variable)

    def guard_fired(self, fired: Fired, action: str) -> None:
        self.emit(
            GuardFired,
            iteration=self.iteration,
            guard=fired.guard,
            action=action,
            message=fired.message,
        )

    def fit_history(self, messages: list[Message]) -> None:
        """Past the configured size, the oldest REPL outputs give way (said once per RLM)."""
        limit = self.config.max_history_chars or prompts.history_limit_chars(small=self.small)
        if history.fit(messages, limit) and not self.history_elided:
            self.history_elided = True
            self.notice(prompts.HISTORY_ELIDED.format(limit=limit))

    def warn_if_cost_unenforceable(self) -> None:
        """A cost budget cannot end a run whose calls have no known price: say so, once."""
        limit = self.config.budgets.max_cost_usd
        if limit is None:
            return
        specs = [self.config.root]
        if self.config.sub_calls_enabled:
            specs.append(self.config.sub_model)
        unknown = [s.model for s in dict.fromkeys(specs) if self.shared.cost(s, Usage()) is None]
        if unknown:
            self.notice(cost_budget_unenforceable(limit, unknown))

    def initial_messages(self, context_meta: dict[str, Any]) -> list[Message]:
        sub_budget = sub_call_chars(self.config.sub_model.provider)
        existing = self.sandbox.show_vars() if self.depth == 0 else None
        config = self.config
        hint = None
        if config.strategy_hints:
            hint = prompts.strategy_hint(context_meta, sub_budget_chars=sub_budget)
        system = prompts.system_prompt(
            small=self.small, sub_budget_chars=sub_budget, helpers=config.helpers_in_prompt
        )
        first = prompts.first_user_message(
            self.question, context_meta, existing, hint, self.peek(), self.first_look()
        )
        return [{"role": "system", "content": system}, {"role": "user", "content": first}]

    def first_look(self) -> tuple[str, str, str] | None:
        """The engine's first block for a small root model (rlm_engine.first_look): its code, its
        output as the model is shown it, and what it was: "fact" (a search), "tally" (a count,
        total or maximum read from every document) or "aggregate" (a search for a question that
        counts, adds up or compares: not its answer); None when off or when it found nothing."""
        wanted = self.config.first_look
        if not (self.small if wanted is None else wanted):
            return None
        context = self.sandbox.context
        if not context:
            return None
        documents = [context] if isinstance(context, str) else context
        aggregate = first_look.is_aggregate(self.question)
        call = first_look.tally_guess(self.question, documents) if aggregate else None
        if call is not None:
            code, kind = first_look.tally_code(call), "tally"
        else:
            code = first_look.look_code(self.question, context)
            kind = "aggregate" if aggregate else "fact"
        if code is None:
            return None
        result = self.run_block(0, code)
        if result is None or result.error:
            return None
        shown = prompts.shown_output(result.output, small=self.small)
        self.guards.shown(code, shown)
        self.read_context = True
        if kind == "aggregate":
            self.watch.not_the_models()  # a count read off the look's few matches is a guess
        return code, shown, kind

    def peek(self) -> str | None:
        """The start of the first document, when the configuration shows one."""
        chars = prompts.peek_chars(self.config.first_peek_chars)
        context = self.sandbox.context
        if not chars or not context:
            return None
        first = context if isinstance(context, str) else context[0]
        return first[:chars]

    def budget_reason(self) -> str | None:
        limit = self.config.budgets.max_iterations
        if self.iteration >= limit:
            return f"max_iterations: {limit} iterations done"
        return self.shared.tracker.exhausted()

    def root_call(
        self,
        messages: list[Message],
        *,
        forced: bool = False,
        stop: bool = True,
        goes_on: bool = True,
    ) -> str | None:
        """One call of the root model; None if the time budget ran out first (the call is
        dropped). The forced-answer call is allowed past the time budget, not past a cancel.
        `goes_on=False`: no turn follows (a direct read), so its prompt is not marked for caching
        (an Anthropic cache write costs 1.25 times the input price and would never be read).

        A child RLM's root calls are sub-calls of the tree: each must pass the sub-call budget.
        """
        tracker = self.shared.tracker
        if self.depth > 0:
            tracker.reserve_sub_call()
        provider = self.shared.provider(self.root_spec)
        sent = list(messages)  # the loop goes on appending while an abandoned call may still read
        started = time.monotonic()
        number = self.iteration if forced else self.iteration + 1
        stream = None
        if self.depth == 0:
            stream = DeltaStream(lambda **fields: self.emit(RootDelta, **fields), number)
        try:
            completion = self.shared.wait_for(
                lambda: provider.complete(
                    sent,
                    stop=self.stop if stop else None,
                    temperature=0.0 if self.small else None,
                    on_text=stream,
                    conversation=(self.parent_call_id or self.shared.run_id) if goes_on else None,
                ),
                deadline=None if forced else tracker.deadline,
                halt=self.halt,
            )
        except OutOfTime:
            return None
        finally:
            if stream is not None:
                stream.close()
        cost = self.shared.cost(self.root_spec, completion.usage)
        tracker.add_usage(completion.usage, cost)
        self.spend.add(completion.usage, cost)
        if not forced:
            self.iteration += 1
            if self.depth == 0:
                tracker.count_iteration()
        self.emit(
            RootResponse,
            iteration=self.iteration,
            text=completion.text,
            model=completion.model or self.root_spec.model,
            usage=completion.usage,
            cost_usd=cost,
            elapsed_s=time.monotonic() - started,
            forced=forced,
            tokens_per_s=completion.tokens_per_s,
            first_token_s=completion.first_token_s,
        )
        return completion.text

    def handle_reply(self, reply: str) -> tuple[str | None, str]:
        """Run the reply's code; return (final answer, None) or (None, the next user message)."""
        blocks = find_code_blocks(reply)
        final_line = find_final(reply)
        bare = None
        if self.small and not blocks:
            bare = unfenced_code(reply) or (unlabelled_code(reply) if final_line is None else None)
        if bare is not None:
            blocks = [bare]  # a FINAL line after it is discarded below, as with fenced code
        if not blocks:
            if final_line is None:
                self.notice(prompts.NO_CODE_NO_FINAL)
                return None, prompts.NO_CODE_NO_FINAL
            return self.resolve_final_line(final_line.kind, final_line.value)

        outputs: list[str] = []
        notes: list[str] = []
        for index, code in enumerate(blocks):
            result = self.run_block(index, code)
            if result is None:  # the time budget is used up: the loop forces an answer next
                break
            outputs.append(result.output)
            notes += self.noticed(self.guards.after_block(code, result.output, self.iteration))
            if result.final is not None:
                refusal = self.judge(result.final)
                if refusal is None:
                    self.finish(result.final, "code")
                    return result.final, ""
                self.notice(refusal)
                notes.append(refusal)
                final_line = None  # this reply's answer was refused: a FINAL line too
                break
            self.halt.check()
        notes += self.noticed(self.guards.prompt_notes())
        if self.small and not self.read_context:
            # Small models ask the helper the question itself, which never sees the corpus.
            self.read_context = any("context" in code for code in blocks)
            if not self.read_context:
                notes.append(prompts.CONTEXT_NOT_READ)
        if final_line is not None and final_line.kind == "FINAL_VAR":
            # resolved after the code ran, whose output the model has not seen: not `seen_var`
            answer, note = self.resolve_final_line("FINAL_VAR", final_line.value, seen_var=False)
            if answer is not None:
                return answer, ""
            notes.append(note)
        elif final_line is not None:
            self.notice(prompts.FINAL_WITH_CODE_DISCARDED)
            notes.append(prompts.FINAL_WITH_CODE_DISCARDED)
        for code, output in zip(blocks, outputs, strict=False):
            self.guards.shown(code, prompts.shown_output(output, small=self.small))
        notes.extend(self.repl_calls.take_notes())
        return None, prompts.repl_results_message(
            outputs,
            notes,
            small=self.small,
            context_read=self.read_context,
            question=self.question,
        )

    def run_block(self, index: int, code: str) -> ExecResult | None:
        """Run one block, for no longer than the time budget has left (None if nothing is left);
        a cancel interrupts it."""
        timeout = self.config.exec_timeout_s
        left = self.shared.tracker.time_left_s()
        if left is not None:
            if left <= 0:
                return None
            timeout = min(timeout, left)
        result = self.sandbox.execute(code, self.repl_calls, timeout_s=timeout, stop=self.halt)
        self.repl_calls.close_open_calls()
        self.emit(
            CodeExecuted,
            iteration=self.iteration,
            block_index=index,
            code=code,
            output=result.output,
            output_chars=result.output_chars,
            elapsed_s=result.elapsed_s,
            error=result.error,
            restarted=result.restarted,
        )
        return result

    def resolve_final_line(
        self, kind: str, value: str, *, seen_var: bool = True
    ) -> tuple[str | None, str]:
        """The answer of a FINAL/FINAL_VAR line, or (None, the note that says why not)."""
        answer = value if kind == "FINAL" else self.sandbox.get_var(value)
        if answer is None:
            note = prompts.final_var_missing(value)
            self.notice(note)
            return None, note
        variable = value if kind == "FINAL_VAR" and seen_var else None
        refusal = self.judge(answer, variable)
        if refusal is not None:
            self.notice(refusal)
            return None, refusal
        self.finish(answer, "text")
        return answer, ""

    def forced_answer(self, messages: list[Message], reason: str) -> _Outcome:
        """One last root call, allowed past the budget, asking for the best answer so far."""
        note = prompts.FORCED_ANSWER.format(reason=reason, question=self.question)
        self.notice(note)
        messages.append({"role": "user", "content": note})
        self.fit_history(messages)
        reply = self.root_call(messages, forced=True)
        answer = self.forced_answer_text(reply or "")
        if answer.strip() and _normal(answer) in _normal(note):
            answer = ""  # an echo of the note is no answer, as an empty reply is
        self.guards.judge_forced(answer)
        self.emit(FinalAnswer, answer=answer, source="forced", unsupported=self.guards.unsupported)
        return _Outcome("limit", answer=answer, unsupported=self.guards.unsupported)

    def forced_answer_text(self, reply: str) -> str:
        """The forced reply's answer: its FINAL line, the variable its FINAL_VAR names, or else
        its prose (never a variable's bare name: that is not an answer)."""
        final_line = find_final(reply)
        if final_line is not None and final_line.kind == "FINAL":
            return final_line.value
        if final_line is not None:
            value = self.sandbox.get_var(final_line.value)
            if value is not None:
                return value
        return without_final(reply).strip()

    def emit_finished(self, outcome: _Outcome) -> RunResult:
        """The RunFinished event (totals of the whole tree so far) and the matching RunResult."""
        tracker = self.shared.tracker
        result = RunResult(
            run_id=self.shared.run_id,
            status=outcome.status,
            answer=outcome.answer,
            error=outcome.error,
            iterations=tracker.iterations,
            sub_calls=tracker.sub_calls,
            input_tokens=tracker.input_tokens,
            output_tokens=tracker.output_tokens,
            cost_usd=tracker.total_cost_usd,
            elapsed_s=tracker.elapsed_s,
            cached_tokens=tracker.spend.usage.cached_tokens,
            cache_write_tokens=tracker.spend.usage.cache_write_tokens,
            unsupported=outcome.unsupported,
            method=self.method,
            fallback=outcome.fallback,
        )
        fields = result.to_dict()
        fields.pop("run_id")
        self.emit(RunFinished, **fields)
        return result

    def child(self, question: str, call_id: str) -> RLMRun:
        """A child RLM one level deeper, for the `rlm_query` call `call_id`: the sub model as its
        root, a sandbox of its own, and this RLM's halt above its own."""
        config = self.config
        return RLMRun(
            self.shared,
            question=question,
            sandbox=Sandbox(
                exec_timeout_s=config.exec_timeout_s,
                output_limit_chars=config.output_limit_chars,
                max_concurrency=config.max_concurrency,
                hidden_paths=self.sandbox.hidden_paths,
                caps=self.sandbox.caps,
            ),
            root_spec=config.sub_model,
            depth=self.depth + 1,
            parent_call_id=call_id,
            parent_halt=self.halt,
        )

    def run_as_child(self, context: Any) -> _Outcome:
        """The whole life of a child RLM: load its context, run, emit its RunFinished, close its
        sandbox; `finished` is set at the end, whatever happened."""
        child_context = context if isinstance(context, str | list) else str(context)
        try:
            self.sandbox.load_context(child_context)
            outcome = self.execute(context_metadata(child_context))
            self.emit_finished(outcome)
        except RLMError as exc:  # its sandbox did not start: the child never ran
            outcome = _Outcome("failed", error=str(exc))
        finally:
            self.sandbox.close()
            self.finished.set()
        return outcome

    def finish(self, answer: str, source: str) -> None:
        self.emit(FinalAnswer, answer=answer, source=source, unsupported=self.guards.unsupported)

    def notice(self, message: str) -> None:
        self.emit(Notice, iteration=self.iteration, message=message)

    def noticed(self, messages: list[str]) -> list[str]:
        """Notices for what the model is about to be told (the trace shows which guard fired)."""
        for message in messages:
            self.notice(message)
        return messages


def _normal(text: str) -> str:
    return " ".join(text.lower().strip(" .\"'").split())


def cost_budget_unenforceable(limit: float, models: list[str]) -> str:
    """The notice for a cost budget over models without a known price."""
    names = " and ".join(models)
    price = "price of" if len(models) == 1 else "prices of"
    verb = "is" if len(models) == 1 else "are"
    return (
        f"The cost budget (${limit:g}) cannot be enforced: the {price} {names} {verb} unknown, "
        "so this run will not stop for cost. Set a price override (USD per million input and "
        f"output tokens) for {names}: on the Settings page, or `rlm ask --price MODEL=IN,OUT`."
    )


def context_metadata(context: Context) -> dict[str, Any]:
    from rlm_engine.corpus import context_metadata as describe

    return describe(context)


def run_in_sandbox(
    question: str,
    sandbox: Sandbox,
    context: Context,
    config: RunConfig,
    *,
    credentials: Credentials,
    on_event: EventCallback | None = None,
    cancel: threading.Event | None = None,
    run_id: str | None = None,
    sources: Any = None,
    sub_call_cache: SubCallCache | None = None,
    corpus: str | None = None,
) -> RunResult:
    """Run one question in a sandbox whose `context` is already loaded. `sources`: a
    CorpusIndex of that context, to report the passages the run saw and its answer's sources.
    `corpus`: the context's fingerprint for the sub-call cache (computed here when needed)."""
    question = valid_text(question)  # e.g. from argv, decoded with surrogateescape
    if config.sub_call_cache and sub_call_cache is not None and corpus is None:
        corpus = corpus_fingerprint(context)
    # A session's next question may come with other caps; worked out at the first code block.
    sandbox.caps = functools.partial(repl_caps, config)
    if sources is not None:
        from rlm_engine.sources import SourceTracker

        sources = SourceTracker(sources, on_event)
    shared = RunShared(
        run_id or uuid.uuid4().hex,
        config,
        credentials,
        sources or on_event,
        cancel or threading.Event(),
        sub_call_cache=sub_call_cache,
        corpus=corpus or "",
    )
    shared.sources = sources
    run = RLMRun(shared, question=question, sandbox=sandbox, root_spec=config.root)
    try:
        outcome = run.execute(context_metadata(context), context)
    except Exception as exc:  # an engine bug must still end the run with a RunFinished event
        log.exception("Run %s crashed", shared.run_id)
        outcome = _Outcome("failed", error=f"Internal error: {describe_error(exc)}")
    finally:
        shared.close()
    return run.emit_finished(outcome)
