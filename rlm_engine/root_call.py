"""One call of an RLM's root model: streamed to the app at depth 0, bounded by the time budget,
counted in the tree's budgets, reported as a RootResponse.

A function of an `RLMRun` (rlm_engine.loop), like rlm_engine.direct and rlm_engine.fallback.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rlm_engine.events import RootDelta, RootResponse
from rlm_engine.providers import Message
from rlm_engine.shared import OutOfTime
from rlm_engine.streaming import DeltaStream

if TYPE_CHECKING:
    from rlm_engine.loop import RLMRun

SMALL_REPLY_TOKENS = 512
"""A small-model prompt's reply is one short block or a FINAL; past this it has degenerated (the
1.5B model once wrote "41228, " until the time budget ended the run: 172 s)."""


def root_call(
    run: RLMRun,
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
    shared, tracker = run.shared, run.shared.tracker
    if run.depth > 0:
        tracker.reserve_sub_call()
    provider = shared.provider(run.root_spec)
    sent = list(messages)  # the loop goes on appending while an abandoned call may still read
    started = time.monotonic()
    number = run.iteration if forced else run.iteration + 1
    stream = None
    if run.depth == 0:
        stream = DeltaStream(lambda **fields: run.emit(RootDelta, **fields), number)
    try:
        completion = shared.wait_for(
            lambda: provider.complete(
                sent,
                stop=run.stop if stop else None,
                max_tokens=SMALL_REPLY_TOKENS if run.small else None,
                temperature=0.0 if run.small else None,
                on_text=stream,
                conversation=(run.parent_call_id or shared.run_id) if goes_on else None,
            ),
            deadline=None if forced else tracker.deadline,
            halt=run.halt,
        )
    except OutOfTime:
        return None
    finally:
        if stream is not None:
            stream.close()
    cost = shared.cost(run.root_spec, completion.usage)
    tracker.add_usage(completion.usage, cost)
    run.spend.add(completion.usage, cost)
    if not forced:
        run.iteration += 1
        if run.depth == 0:
            tracker.count_iteration()
    run.emit(
        RootResponse,
        iteration=run.iteration,
        text=completion.text,
        model=completion.model or run.root_spec.model,
        usage=completion.usage,
        cost_usd=cost,
        elapsed_s=time.monotonic() - started,
        forced=forced,
        tokens_per_s=completion.tokens_per_s,
        first_token_s=completion.first_token_s,
    )
    return completion.text
