"""Caps on what model code can make the host hold, send or store.

Model code is untrusted: one `llm_query` of 200 MB, a batch of a million prompts or a FINAL of
500 MB would otherwise be held by the host, posted to a provider and written to the database.
The worker refuses or cuts them first (it cannot import this module: it keeps its own copy of the
rule), and the host enforces the same caps on what arrives, since the worker speaks for model code.
Defaults live in RunConfig (README, "Configuration").
"""

from __future__ import annotations

from rlm_engine.config import ModelSpec, RunConfig
from rlm_engine.sandbox.types import ReplCaps

CHARS_PER_TOKEN = 4
"""A prompt cap derived from a context window assumes this many characters per token."""
MAX_TEXT = 2_000_000
"""The worker cuts outputs and answers to at most this (its frames must stay under 64 MiB)."""


def sub_context_chars(spec: ModelSpec) -> int | None:
    """About how many characters the sub model's context window holds (None: unknown)."""
    if spec.provider == "local":
        from rlm_engine.providers.local import context_window as local_window

        window: int | None = local_window()
    else:
        from rlm_engine.pricing import context_window

        window = context_window(spec)
    return window * CHARS_PER_TOKEN if window else None


def prompt_limit(config: RunConfig) -> int:
    """The largest prompt `llm_query` sends: the configured cap, never above the sub model's
    context window (where it is known)."""
    window = sub_context_chars(config.sub_model)
    return min(config.max_prompt_chars, window) if window else config.max_prompt_chars


def repl_caps(config: RunConfig) -> ReplCaps:
    """The caps a run's sandboxes enforce."""
    return ReplCaps(
        prompt_chars=prompt_limit(config),
        batch_prompts=config.max_batch_prompts,
        answer_chars=min(config.max_answer_chars, MAX_TEXT),
    )


def check_prompt(method: str, prompt: str, limit: int) -> None:
    """The host's copy of the worker's refusal (model code may bypass the worker's helpers)."""
    if len(prompt) > limit:
        raise ValueError(
            f"{method}: the prompt has {len(prompt):,} characters, over the cap of {limit:,} "
            "(max_prompt_chars, never more than the sub model's context window): split it into "
            "smaller pieces"
        )
