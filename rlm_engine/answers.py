"""The answer gates: whether a final answer is accepted, what a FINAL / FINAL_VAR line answers,
and the one forced answer a used-up budget earns.

Functions of an `RLMRun` (rlm_engine.loop), like rlm_engine.direct and rlm_engine.fallback.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from rlm_engine import prompts
from rlm_engine.events import FinalAnswer
from rlm_engine.outcome import Outcome
from rlm_engine.parsing import find_final, without_final
from rlm_engine.providers import Message
from rlm_engine.root_call import root_call

if TYPE_CHECKING:
    from rlm_engine.loop import RLMRun


def judge(run: RLMRun, answer: str, variable: str | None = None) -> str | None:
    """None to accept a final answer; else why not (the answer gates, then the evidence)."""
    gate = run.watch.gate_final()
    if gate is not None:
        run.guard_fired(gate, "refused")
        return gate.message
    return run.guards.judge_final(answer, variable)


def resolve_final_line(
    run: RLMRun, kind: str, value: str, *, seen_var: bool = True
) -> tuple[str | None, str]:
    """The answer of a FINAL/FINAL_VAR line, or (None, the note that says why not)."""
    answer = value if kind == "FINAL" else run.sandbox.get_var(value)
    if answer is None:
        note = prompts.final_var_missing(value)
        run.notice(note)
        return None, note
    variable = value if kind == "FINAL_VAR" and seen_var else None
    refusal = judge(run, answer, variable)
    if refusal is not None:
        run.notice(refusal)
        return None, refusal
    run.finish(answer, "text")
    return answer, ""


def plain_value(reply: str) -> str | None:
    """A reply that is one short line of plain text, not code (`beacon-132` parses, but calls
    and assigns nothing): a value, when the engine asked for one; else None."""
    text = reply.strip().strip("`").strip()
    if not text or "\n" in text or len(text) > 200 or find_final(text) is not None:
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        tree = None  # prose
    if tree is not None and (
        not all(isinstance(node, ast.Expr) for node in tree.body)
        or any(isinstance(node, ast.Call) for node in ast.walk(tree))
    ):
        return None
    return text.rstrip(".").strip("`'\" ") or None


def forced_answer(run: RLMRun, messages: list[Message], reason: str) -> Outcome:
    """One last root call, allowed past the budget, asking for the best answer so far."""
    note = prompts.FORCED_ANSWER.format(reason=reason, question=run.question)
    run.notice(note)
    messages.append({"role": "user", "content": note})
    run.fit_history(messages)
    reply = root_call(run, messages, forced=True)
    answer = forced_answer_text(run, reply or "")
    if answer.strip() and _normal(answer) in _normal(note):
        answer = ""  # an echo of the note is no answer, as an empty reply is
    run.guards.judge_forced(answer)
    run.emit(FinalAnswer, answer=answer, source="forced", unsupported=run.guards.unsupported)
    return Outcome("limit", answer=answer, unsupported=run.guards.unsupported)


def forced_answer_text(run: RLMRun, reply: str) -> str:
    """The forced reply's answer: its FINAL line, the variable its FINAL_VAR names, or else
    its prose (never a variable's bare name: that is not an answer)."""
    final_line = find_final(reply)
    if final_line is not None and final_line.kind == "FINAL":
        return final_line.value
    if final_line is not None:
        value = run.sandbox.get_var(final_line.value)
        if value is not None:
            return value
    return without_final(reply).strip()


def _normal(text: str) -> str:
    return " ".join(text.lower().strip(" .\"'").split())
