"""How the app words a run: what it is doing, its notices, statuses, costs, times and tokens.

The run itself is folded by rlm_engine.trace (`fold`): the Ask page folds the live events, History
and Compare the stored ones, and `webui.draw` draws the result the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from rlm_engine.events import (
    Event,
    FinalAnswer,
    GuardFired,
    Notice,
    RootDelta,
    RootResponse,
    RunFinished,
    SubCallFinished,
    SubCallStarted,
)


def activity(events: Sequence[Event]) -> str:
    """What the run is doing now, from its latest root-level event."""
    last = next((e for e in reversed(events) if e.parent_call_id is None), None)
    if last is None:
        return "Starting the REPL and the first root call…"
    if isinstance(last, RootDelta):
        return "The root model is answering…"
    if isinstance(last, RootResponse):
        return "Running the code…"
    if isinstance(last, SubCallStarted | SubCallFinished):
        return "Running the code · sub-calls in flight…"
    if isinstance(last, FinalAnswer | RunFinished):
        return "Finishing…"
    return "Waiting for the root model…"


GUARD_ACTIONS = {
    "refused": "the answer was refused",
    "fallback": "the engine ran its fallback",
    "noted": "the model was told",
}


def notice_line(event: Notice | GuardFired) -> str:
    """A notice as one line of the trace; a guard says which one fired, what it did and why."""
    if isinstance(event, Notice):
        return event.message
    action = GUARD_ACTIONS.get(event.action, event.action)
    return f"Guard **{event.guard}** fired ({action}): {event.message}"


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
