"""What an RLM's root model is shown before its first turn: the system prompt and the first user
message (the question, the context's shape, a strategy hint, a peek at the first document and, for
a small root model, the engine's first look at the corpus).

Functions of an `RLMRun` (rlm_engine.loop), like rlm_engine.direct and rlm_engine.fallback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rlm_engine import first_look, prompts
from rlm_engine.providers import Message
from rlm_engine.providers.registry import sub_call_chars

if TYPE_CHECKING:
    from rlm_engine.loop import RLMRun


def initial_messages(run: RLMRun, context_meta: dict[str, Any]) -> list[Message]:
    config = run.config
    sub_budget = sub_call_chars(config.sub_model.provider)
    existing = None
    # `context` is described already: it is not left from earlier questions. A sandbox that ran
    # no block holds nothing else, and is not asked (it may still be loading the corpus).
    if run.depth == 0 and run.sandbox.ran_code:
        existing = {k: v for k, v in run.sandbox.show_vars().items() if k != "context"}
    first_look = look(run)
    hint = None
    # After a tally the engine has read every document: a hint to search or chunk the corpus
    # only contradicts it (at 256k the 1.5B model answered "0" for "count: 80" with the hint,
    # "80" without it).
    if config.strategy_hints and not (first_look and first_look[2] == "tally"):
        hint = prompts.strategy_hint(context_meta, sub_budget_chars=sub_budget)
    system = prompts.system_prompt(
        small=run.small, sub_budget_chars=sub_budget, helpers=config.helpers_in_prompt
    )
    first = prompts.first_user_message(
        run.question, context_meta, existing, hint, peek(run), first_look
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": first}]


def look(run: RLMRun) -> tuple[str, str, str] | None:
    """The engine's first block for a small root model (rlm_engine.first_look): its code, its
    output as the model is shown it, and what it was: "fact" (a search), "tally" (a count,
    total or maximum read from every document) or "aggregate" (a search for a question that
    counts, adds up or compares: not its answer); None when off or when it found nothing."""
    wanted = run.config.first_look
    if not (run.small if wanted is None else wanted):
        return None
    context = run.sandbox.context
    if not context:
        return None
    documents = [context] if isinstance(context, str) else context
    aggregate = first_look.is_aggregate(run.question)
    call = first_look.tally_guess(run.question, documents) if aggregate else None
    if call is not None:
        code: str | None = first_look.tally_code(call)
        kind = "tally"
    else:
        code = first_look.look_code(run.question, context)
        kind = "aggregate" if aggregate else "fact"
    if code is None:
        return None
    result = run.run_block(0, code)
    if result is None or result.error:
        return None
    shown = prompts.shown_output(result.output, small=run.small)
    run.guards.shown(code, shown)
    run.read_context = True
    if kind == "aggregate":
        run.watch.not_the_models()  # a count read off the look's few matches is a guess
    return code, shown, kind


def peek(run: RLMRun) -> str | None:
    """The start of the first document, when the configuration shows one."""
    chars = prompts.peek_chars(run.config.first_peek_chars)
    if not chars:
        return None
    return run.sandbox.context_head(chars) or None  # the head only: the rest may be in a file
