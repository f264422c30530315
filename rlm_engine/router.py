"""Which method answers a question: the RLM, or the root model reading the corpus directly.

A corpus that fits the root model's window is answered faster and better by one call that reads
it whole than by an RLM that searches it. `auto` reads directly when the corpus, counted in
tokens, fits the window with a margin kept for the instructions, the question and the answer (or
a configured threshold); a model whose window is unknown is never read directly by `auto`.
`direct` always reads directly, cutting the corpus to the window when it does not fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from rlm_engine.config import ModelSpec, RunConfig

CHARS_PER_TOKEN = 3.5
"""Token estimate of a corpus: English prose runs ~4 characters a token with current tokenizers,
numbers, dates and code fewer; 3.5 errs on the side of not overfilling the window."""


@dataclass(frozen=True)
class Route:
    """The choice and its reason, as the MethodChosen event carries them."""

    method: Literal["rlm", "direct"]
    requested: Literal["auto", "rlm", "direct"]
    reason: str
    corpus_tokens: int
    window_tokens: int | None
    budget_tokens: int | None  # corpus tokens a direct read may send (None: no limit known)

    @property
    def cut(self) -> bool:
        """Direct, but the corpus is larger than what the window takes: it is cut."""
        return (
            self.method == "direct"
            and self.budget_tokens is not None
            and self.corpus_tokens > self.budget_tokens
        )


def estimate_tokens(chars: int) -> int:
    return math.ceil(chars / CHARS_PER_TOKEN)


def window_tokens(config: RunConfig, spec: ModelSpec) -> int | None:
    """The root model's window: configured, the local server's, or the price table's."""
    if config.window_tokens:
        return config.window_tokens
    if spec.provider == "local":
        from rlm_engine.providers.local import context_window

        return context_window()
    from rlm_engine.pricing import context_window

    return context_window(spec)


def choose(
    config: RunConfig, total_chars: int, spec: ModelSpec | None = None, tallies: bool = False
) -> Route:
    """The route of a run over `total_chars` characters of corpus. `tallies`: the engine's
    tally answers the question for the root model (a small model asked to count, add up or
    compare), so `auto` runs the RLM even where the corpus fits: reading it whole, a 1.5B model
    miscounts."""
    spec = spec or config.root
    tokens = estimate_tokens(total_chars)
    requested = config.method
    if requested == "rlm":  # no window to look up (the price table: tenths of a second)
        return Route("rlm", requested, "RLM: the run's method is rlm.", tokens, None, None)
    window = window_tokens(config, spec)
    budget = None if window is None else max(0, window - config.answer_margin_tokens)
    about = f"about {tokens:,} tokens"

    def route(method: Literal["rlm", "direct"], reason: str) -> Route:
        return Route(method, requested, reason, tokens, window, budget)

    if requested == "direct":
        if budget is None:
            return route(
                "direct",
                f"read directly (method direct): {about}, sent whole; the window of "
                f"{spec.model} is unknown.",
            )
        if tokens > budget:
            return route(
                "direct",
                f"read directly (method direct): {about} cut to {budget:,} to fit the "
                f"{window:,}-token window.",
            )
        return route("direct", f"read directly: {about} fit the {window:,}-token window.")
    if window is None or budget is None:
        return route(
            "rlm",
            f"RLM: the window of {spec.model} is unknown, so auto never reads it directly "
            "(set the model's window to allow it).",
        )
    if tallies:
        return route(
            "rlm",
            f"RLM: the question counts, adds up or compares, and the engine's tally reads "
            f"every record for {spec.model} ({about} would fit the {window:,}-token window, "
            "but a small model reading them whole miscounts).",
        )
    threshold = budget
    if config.direct_threshold_tokens is not None:
        threshold = min(budget, config.direct_threshold_tokens)
    if tokens <= threshold:
        return route("direct", f"read directly: {about} fit the {window:,}-token window.")
    limit = (
        f"the {window:,}-token window (keeping {config.answer_margin_tokens:,} for the answer)"
        if threshold == budget
        else f"the direct-reading threshold of {threshold:,} tokens"
    )
    return route("rlm", f"RLM: {about} do not fit {limit}.")
