"""Direct reading: the root model gets the corpus itself, in one call, and answers.

The run is a normal run (RunStarted, MethodChosen, one RootResponse, FinalAnswer, RunFinished:
tokens and cost counted as always). A corpus larger than the window is cut to fit: whole
documents first, in order, then the head of the one that does not fit; the model is told what was
cut and a Notice says it too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rlm_engine import first_look, router
from rlm_engine.errors import ProviderAuthError, ProviderError, ProviderUnavailable
from rlm_engine.events import MethodChosen
from rlm_engine.outcome import Outcome
from rlm_engine.parsing import find_final, without_final
from rlm_engine.providers import Message
from rlm_engine.root_call import root_call
from rlm_engine.router import CHARS_PER_TOKEN, Route

if TYPE_CHECKING:
    from rlm_engine.held import HeldContext
    from rlm_engine.loop import Context, RLMRun

SYSTEM = (
    "You answer a question about the documents in the user's message. Answer from the documents "
    "only; if they do not hold the answer, say so. Reply with the answer itself, briefly, without "
    "code."
)


def cut_documents(docs: list[str], max_chars: int | None) -> tuple[list[str], int]:
    """The documents that fit in `max_chars` (the last one cut), and how many characters were
    left out."""
    if max_chars is None:
        return list(docs), 0
    kept: list[str] = []
    room = max_chars
    for doc in docs:
        if room <= 0:
            break
        kept.append(doc[:room])
        room -= len(kept[-1])
    return kept, sum(map(len, docs)) - sum(map(len, kept))


def cut_note(docs: list[str], kept: list[str], left_out: int) -> str:
    total = sum(map(len, docs))
    whole = sum(1 for a, b in zip(docs, kept, strict=False) if len(a) == len(b))
    return (
        f"Note: the documents were cut to fit the model's window: {left_out:,} of {total:,} "
        f"characters were left out ({whole} of {len(docs)} documents are shown whole). The "
        "answer may be in the part that was left out."
    )


def messages(question: str, context: Context, route: Route) -> tuple[list[Message], str | None]:
    """The call's messages, and the note on what was cut (None if nothing was)."""
    docs = [context] if isinstance(context, str) else list(context)
    budget = route.budget_tokens if route.cut else None
    max_chars = None if budget is None else int(budget * CHARS_PER_TOKEN)
    kept, left_out = cut_documents(docs, max_chars)
    note = cut_note(docs, kept, left_out) if left_out else None
    parts = [f"=== Document {i + 1} of {len(docs)} ===\n{doc}" for i, doc in enumerate(kept)] or [
        "(no documents)"
    ]
    body = "\n\n".join(parts)
    tail = f"\n\n{note}" if note else ""
    user = f"Question: {question}\n\n{body}{tail}\n\nQuestion: {question}\nAnswer:"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}], note


def answer_text(reply: str) -> str:
    """The reply's answer: a FINAL(...) line's value if the model wrote one, else its text."""
    final_line = find_final(reply)
    if final_line is not None and final_line.kind == "FINAL":
        return final_line.value
    return without_final(reply).strip()


def read(run: RLMRun, context: Context, route: Route) -> str | None:
    """One root call over the corpus; its answer (None: the time budget ran out first)."""
    sent, note = messages(run.question, context, route)
    if note:
        run.notice(note)
    reply = root_call(run, sent, stop=False, goes_on=False)
    if reply is None:
        return None
    answer = answer_text(reply)
    run.finish(answer, "direct")
    return answer


def _tallies(run: RLMRun, held: HeldContext) -> bool:
    """Whether the engine's first look will be a tally for this question (a small root model
    asked to count, add up or compare, over a corpus where a label reads a value)."""
    looks = run.small if run.config.first_look is None else run.config.first_look
    if not looks or not first_look.is_aggregate(run.question):
        return False
    context = held.get()
    documents = [context] if isinstance(context, str) else list(context)
    return first_look.tally_guess(run.question, documents) is not None


def route(run: RLMRun, held: HeldContext, total_chars: int) -> Outcome | None:
    """The router's choice (a MethodChosen event) and, for a direct read, its outcome; None
    when the RLM answers (chosen, or auto's direct read refused by the provider). The text is
    read only for a direct read (or the tally check that may refuse one)."""
    choice = router.choose(run.config, total_chars, run.root_spec)
    if choice.method == "direct" and choice.requested == "auto" and _tallies(run, held):
        choice = router.choose(run.config, total_chars, run.root_spec, tallies=True)
    run.emit(
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
    reason = run.budget_reason()
    if reason:
        return Outcome("limit", error=f"The budget is used up ({reason}).")
    try:
        answer = read(run, held.get(), choice)
    except (ProviderAuthError, ProviderUnavailable):
        raise
    except ProviderError as exc:
        if choice.requested != "auto":
            raise
        run.notice(f"Reading directly failed ({exc}); the RLM answers instead.")
        return None
    if answer is None:
        reason = run.budget_reason() or "max_time_s"
        return Outcome("limit", error=f"The budget ran out during the direct read ({reason}).")
    run.method = "direct"
    return Outcome("completed", answer=answer)
