"""The RLM loop (the paper's Algorithm 1).

root call -> run every ```repl block of the reply in the sandbox -> send the (truncated) output
back as the next user message -> repeat, until a FINAL answer or a budget ends the run. A budget
ending the run earns one last root call that must answer from what the model has seen (`limit`).

`RLMRun` is one RLM at one depth. The top-level run and every child RLM started by `rlm_query`
share one `BudgetTracker`, so that budgets hold across the whole tree of calls. Its steps live in
modules of their own: the first messages (opening), one root call (root_call), the answer gates
and the forced answer (answers), the router's direct read (direct), the fallback (fallback); a
question's whole run, RunFinished included, is rlm_engine.session.run_in_sandbox.
"""

from __future__ import annotations

import threading
from typing import Any

from rlm_engine import answers, direct, fallback, history, opening, prompts
from rlm_engine.config import ModelSpec
from rlm_engine.errors import BudgetExceeded, Cancelled, RLMError
from rlm_engine.events import (
    CodeExecuted,
    Event,
    FinalAnswer,
    GuardFired,
    Notice,
    RunFinished,
    RunStarted,
    Usage,
)
from rlm_engine.guards import RunGuards
from rlm_engine.held import HeldContext
from rlm_engine.limits import Spend
from rlm_engine.outcome import Outcome, RunResult
from rlm_engine.parsing import find_code_blocks, find_final, unfenced_code, unlabelled_code
from rlm_engine.providers import Message
from rlm_engine.repl_calls import ReplCalls
from rlm_engine.root_call import root_call
from rlm_engine.sandbox import ExecResult, Sandbox
from rlm_engine.shared import Halt, RunShared
from rlm_engine.stall import Fired, Watch

Context = str | list[str]


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
    def execute(self, context_meta: dict[str, Any], context: HeldContext | None = None) -> Outcome:
        """The whole RLM: its events from RunStarted on, and how it ended (never raises for
        what a model or a budget does). With `context` (the top-level run) the router may have
        the root model read it directly instead (it reads the text only then)."""
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
                outcome = direct.route(self, context, int(context_meta.get("total_chars") or 0))
                if outcome is not None:
                    return outcome
            return self.iterate(opening.initial_messages(self, context_meta))
        except Cancelled as exc:
            return Outcome("cancelled", error=str(exc))
        except BudgetExceeded as exc:  # a child RLM's root call refused: it cannot even answer
            return Outcome("limit", error=str(exc))
        except RLMError as exc:
            return Outcome("failed", error=str(exc))

    def iterate(self, messages: list[Message]) -> Outcome:
        """Root turns until a final answer; a used-up budget earns one forced-answer call."""
        while True:
            self.halt.check()
            reason = self.budget_reason()
            if reason:
                return answers.forced_answer(self, messages, reason)
            self.fit_history(messages)
            reply = root_call(self, messages)
            if reply is None:  # the time budget ran out during the call: budget_reason says so
                continue
            messages.append({"role": "assistant", "content": reply})
            self.halt.check()  # a stop that came with the reply: none of its code runs
            blocks_before = self.watch.blocks_run
            answer, follow_up = self.handle_reply(reply)
            if answer is None:
                answer, follow_up = self.after_turn(
                    self.watch.blocks_run > blocks_before, follow_up
                )
            if answer is not None:
                return Outcome(
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

    def budget_reason(self) -> str | None:
        limit = self.config.budgets.max_iterations
        if self.iteration >= limit:
            return f"max_iterations: {limit} iterations done"
        return self.shared.tracker.exhausted()

    def handle_reply(self, reply: str) -> tuple[str | None, str]:
        """Run the reply's code; return (final answer, None) or (None, the next user message)."""
        blocks = find_code_blocks(reply)
        final_line = find_final(reply)
        if self.guards.take_value_asked() and not blocks and final_line is None:
            value = answers.plain_value(reply)
            if value is not None:  # the value itself, asked for after an echo of the question
                return answers.resolve_final_line(self, "FINAL", value)
        bare = None
        if self.small and not blocks:
            bare = unfenced_code(reply) or (unlabelled_code(reply) if final_line is None else None)
        if bare is not None:
            blocks = [bare]  # a FINAL line after it is discarded below, as with fenced code
        if not blocks:
            if final_line is None:
                self.notice(prompts.NO_CODE_NO_FINAL)
                return None, prompts.NO_CODE_NO_FINAL
            return answers.resolve_final_line(self, final_line.kind, final_line.value)

        outputs: list[str] = []
        notes: list[str] = []
        for index, code in enumerate(blocks):
            result = self.run_block(index, code)
            if result is None:  # the time budget is used up: the loop forces an answer next
                break
            outputs.append(result.output)
            notes += self.noticed(self.guards.after_block(code, result.output, self.iteration))
            if result.final is not None:
                refusal = answers.judge(self, result.final)
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
            answer, note = answers.resolve_final_line(
                self, "FINAL_VAR", final_line.value, seen_var=False
            )
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

    def emit_finished(self, outcome: Outcome) -> RunResult:
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

    def run_as_child(self, context: Any) -> Outcome:
        """The whole life of a child RLM: load its context, run, emit its RunFinished, close its
        sandbox; `finished` is set at the end, whatever happened."""
        child_context = context if isinstance(context, str | list) else str(context)
        try:
            self.sandbox.load_context(child_context)
            outcome = self.execute(context_metadata(child_context))
            self.emit_finished(outcome)
        except RLMError as exc:  # its sandbox did not start: the child never ran
            outcome = Outcome("failed", error=str(exc))
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
