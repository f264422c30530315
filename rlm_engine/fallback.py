"""The fallback the engine runs itself when a run stalls (rlm_engine.stall): map the question
over the corpus in chunks with the sub model (as the REPL's `ask_chunks` does), then reduce.

A corpus of more chunks than `fallback_max_chunks` is narrowed to the chunks where the question's
words occur most, kept in corpus order. The chunks' answers are reduced by code when they agree
(one distinct answer) and by one more sub-call otherwise. Every call is an `llm_query` of the run:
budgeted, evented and priced like the model's own.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rlm_engine.providers.registry import sub_call_chars
from rlm_engine.sandbox.repl_helpers import is_answer, question_prompt

if TYPE_CHECKING:
    from rlm_engine.loop import Context, RLMRun
    from rlm_engine.stall import Fired

_WORD = re.compile(r"[^\W_]{4,}")


def pieces(context: Context, chunk_chars: int) -> list[str]:
    """Each document cut into chunks of at most `chunk_chars` characters (none is empty)."""
    docs = [context] if isinstance(context, str) else list(context)
    return [doc[i : i + chunk_chars] for doc in docs for i in range(0, len(doc), chunk_chars)]


def narrowed(chunks: list[str], question: str, max_chunks: int) -> list[str]:
    """At most `max_chunks` chunks: those where the question's words (4+ letters) occur most,
    in corpus order; all of them when they are few enough."""
    if len(chunks) <= max_chunks:
        return chunks
    words = {w.lower() for w in _WORD.findall(question)}

    def hits(chunk: str) -> int:
        lowered = chunk.lower()
        return sum(lowered.count(w) for w in words)

    ranked = sorted(range(len(chunks)), key=lambda i: (-hits(chunks[i]), i))
    return [chunks[i] for i in sorted(ranked[:max_chunks])]


def reduce_prompt(question: str, answers: list[str]) -> str:
    listed = "\n".join(f"{n}. {a}" for n, a in enumerate(answers, start=1))
    return (
        f"Question: {question}\n\nAnswers found in different parts of the documents:\n{listed}"
        "\n\nCombine them into one answer to the question (add them up, pick the right one, or "
        "list them, as the question needs). Reply with the answer only."
    )


def run_fallback(run: RLMRun, context: Context, *, chunk_chars: int, max_chunks: int) -> str | None:
    """The fallback's answer, or None when no chunk held one."""
    chunks = narrowed(pieces(context, chunk_chars), run.question, max_chunks)
    if not chunks:
        return None
    prompts = [question_prompt(run.question, chunk) for chunk in chunks]
    found = [a.strip() for a in run.repl_calls.llm_query_batched(prompts) if is_answer(a)]
    if not found:
        return None
    if len({a.lower().rstrip(".") for a in found}) == 1:
        return found[0]
    try:
        combined = run.repl_calls.llm_query(reduce_prompt(run.question, found))
    except Exception:  # a refused or failed reduce call: the first chunk's answer stands
        return found[0]
    return combined.strip() if is_answer(combined) else found[0]


def rescue(run: RLMRun, fired: Fired) -> tuple[str | None, str]:
    """What a fired idle limit or stall rule leads to: (the run's final answer, "") when the
    fallback ends the run, else (None, the note for the model). The fallback runs once per RLM;
    a model that stalls again after it was offered the fallback's answer ends with that answer."""
    watch = run.watch
    if watch.fallback == "off" or (watch.fallback_ran and watch.offered is None):
        run.guard_fired(fired, "noted")
        return None, f"{fired.message} {TRY_ANOTHER_WAY}"
    run.guard_fired(fired, "fallback")
    if watch.offered is not None:
        run.finish(watch.offered, "fallback")
        return watch.offered, ""
    watch.fallback_ran = True
    context = run.sandbox.context or ""
    chunk_chars = sub_call_chars(run.config.sub_model.provider) // 2
    answer = run_fallback(
        run, context, chunk_chars=chunk_chars, max_chunks=run.config.guards.fallback_max_chunks
    )
    if answer is None:
        run.notice(FALLBACK_FOUND_NOTHING)
        return None, f"{fired.message} {FALLBACK_FOUND_NOTHING} {TRY_ANOTHER_WAY}"
    if watch.fallback == "answer":
        run.finish(answer, "fallback")
        return answer, ""
    watch.offered = answer
    note = fallback_offer(answer)
    run.notice(note)
    return None, f"{fired.message} {note}"


TRY_ANOTHER_WAY = (
    "Do something different: search `context` for other words (find(...)), print another part "
    "of it, or ask a sub-model about a passage (ask(question, text))."
)
FALLBACK_FOUND_NOTHING = (
    "The engine read the corpus in chunks with the sub model (a fallback) and found no answer."
)


def fallback_offer(answer: str) -> str:
    shown = answer if len(answer) <= 300 else answer[:300] + "..."
    return (
        "The engine read the corpus in chunks with the sub model (a fallback); its answer: "
        f"{shown!r}. If that answers the question, reply with FINAL(...) and that answer; "
        "otherwise write a ```repl block that checks it."
    )
