"""Settings of a run: which models, which budgets, which limits.

Everything here is plain data that can be stored with a run (`to_dict`). API keys are *not* part of
the config: they travel separately (`Credentials`) so that they can never end up in the database.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from rlm_engine.providers.registry import PROVIDERS

PromptVariant = Literal["auto", "default", "small"]
Method = Literal["auto", "rlm", "direct"]
"""How a question is answered: the RLM; the root model reading the corpus itself (`direct`); or
`auto`, direct when the corpus fits the root model's window (rlm_engine.router decides)."""


@dataclass(frozen=True)
class ModelSpec:
    """One model behind one provider. `base_url=None` means the SDK's own default/env variable."""

    provider: str
    model: str
    base_url: str | None = None

    @property
    def label(self) -> str:
        return f"{self.provider}:{self.model}"


@dataclass(frozen=True)
class Budgets:
    """Limits counted across the whole tree of calls (root, sub-calls and child RLMs).

    `None` means unlimited. `max_iterations` counts root turns; one extra forced-answer call is
    allowed after it is reached.
    """

    max_iterations: int = 30
    max_depth: int = 1
    max_sub_calls: int | None = 500
    max_tokens: int | None = None
    max_cost_usd: float | None = None
    max_time_s: float | None = None


@dataclass(frozen=True)
class GuardConfig:
    """Guards against a model answering from nothing or repeating itself (rlm_engine.guards),
    answering before it looked, idling or going round in circles (rlm_engine.stall), and the
    fallback the engine then runs itself (rlm_engine.fallback).

    `None` means the prompt variant's default: for `require_evidence`, on for the small-model
    variant and off otherwise; for the stall settings, rlm_engine.stall.DEFAULTS.
    """

    # a FINAL that appears in no REPL output the model saw is refused, then accepted as unsupported
    require_evidence: bool | None = None
    # how many such answers are refused before one is accepted (and marked unsupported)
    evidence_refusals: int = 2
    # the same code with the same output, or the same sub-call prompt, is pointed out to the model
    note_repeats: bool = True
    # an llm_query whose prompt is the question and holds no text from `context` is refused
    refuse_question_only: bool = True
    # no FINAL before at least one code block ran (default: on for the small variant)
    final_needs_code: bool | None = None
    # no FINAL before at least one sub-call (default: off)
    final_needs_sub_call: bool | None = None
    # this many replies in a row with neither code nor an accepted answer is a stall (0: no limit;
    # default 3 for the small variant, 5 otherwise)
    max_idle_replies: int | None = None
    # the same code block or sub-call prompt this many times is a stall (0: off; default 3)
    stall_repeats: int | None = None
    # this many turns of code in a row printing nothing new is a stall (0: off; default 4 small, 6)
    stall_iterations: int | None = None
    # on a stall: "answer" ends the run with the fallback's answer (default, small variant),
    # "offer" shows it to the model (default otherwise), "off" only tells the model
    fallback: Literal["off", "offer", "answer"] | None = None
    # the fallback reads at most this many chunks (those where the question's words occur most)
    fallback_max_chunks: int = 8


@dataclass(frozen=True)
class RunConfig:
    """What a run needs besides the question, the context and the keys."""

    root: ModelSpec
    sub: ModelSpec | None = None
    budgets: Budgets = field(default_factory=Budgets)
    exec_timeout_s: float = 120.0
    output_limit_chars: int = 20_000
    max_concurrency: int = 8
    sub_calls_enabled: bool = True
    prompt_variant: PromptVariant = "auto"
    # model name -> (USD per million input tokens, USD per million output tokens)
    price_overrides: dict[str, tuple[float, float]] = field(default_factory=dict)
    request_timeout_s: float = 120.0
    # past this many characters of conversation the oldest REPL outputs are elided (None: the
    # prompt variant's default, see prompts.history_limit_chars)
    max_history_chars: int | None = None
    max_retries: int = 3
    # answer an identical sub-call (model, prompt, parameters) over the same corpus from the
    # session's sub-call cache, at $0 (needs a cache: the app's and the CLI's database)
    sub_call_cache: bool = False
    guards: GuardConfig = field(default_factory=GuardConfig)
    # the first message shows this many characters of the first document (None: the prompt
    # variant's default, see prompts.peek_chars; 0: none, the root sees only metadata)
    first_peek_chars: int | None = None
    # the engine runs a first search for the question's words before the root model's first turn
    # (rlm_engine.first_look; None: on for the small-model prompt variant, off otherwise)
    first_look: bool | None = None
    # caps on what model code makes the host hold, send or store (rlm_engine/caps.py)
    max_prompt_chars: int = 4_000_000  # one llm_query prompt (also: the sub model's window)
    max_batch_prompts: int = 1_000  # prompts in one llm_query_batched
    max_answer_chars: int = 1_000_000  # a FINAL answer is cut here, with a marker
    max_sandboxes: int = 8  # live sandboxes in one run's tree, the top-level one included
    method: Method = "rlm"
    # the root model's context window in tokens (None: known from the price table or the local
    # server's window; unknown otherwise, and auto then never reads directly)
    window_tokens: int | None = None
    # auto reads directly up to this many corpus tokens (None: the window minus the margin)
    direct_threshold_tokens: int | None = None
    # tokens of the window kept for the instructions, the question and the answer
    answer_margin_tokens: int = 2_048
    # the system prompt lists the REPL helpers (peek, find, ask_chunks, ...; in the REPL always)
    helpers_in_prompt: bool = True
    # the first message says which strategy suits the corpus's size (read, search, chunk)
    strategy_hints: bool = True

    @property
    def sub_model(self) -> ModelSpec:
        """The model `llm_query` uses: the sub model, or the root model if none is set."""
        return self.sub or self.root

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        data = dict(data)
        data["root"] = ModelSpec(**data["root"])
        if data.get("sub"):
            data["sub"] = ModelSpec(**data["sub"])
        data["budgets"] = Budgets(**data.get("budgets", {}))
        guards = data.get("guards") or {}
        data["guards"] = GuardConfig(
            **{k: v for k, v in guards.items() if k in GuardConfig.__dataclass_fields__}
        )
        data["price_overrides"] = {
            k: tuple(v) for k, v in (data.get("price_overrides") or {}).items()
        }
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


class Credentials:
    """Keys and endpoints by provider: held by the host process only, never stored, never sent
    to a sandbox. `Credentials(keys={"openai": ...}, base_urls={...})`, or per provider
    `Credentials(openai_api_key=..., openai_base_url=...)` (NAME_api_key, NAME_base_url)."""

    def __init__(
        self,
        keys: Mapping[str, str | None] | None = None,
        base_urls: Mapping[str, str | None] | None = None,
        **per_provider: str | None,
    ) -> None:
        self._keys = {name: key for name, key in (keys or {}).items() if key}
        self._base_urls = {name: url for name, url in (base_urls or {}).items() if url}
        for argument, value in per_provider.items():
            provider, kind = _provider_argument(argument)
            if value:
                (self._keys if kind == "key" else self._base_urls)[provider] = value

    def key(self, provider: str) -> str | None:
        return self._keys.get(provider)

    def base_url(self, provider: str) -> str | None:
        return self._base_urls.get(provider)

    @classmethod
    def from_env(cls, **overrides: str | None) -> Credentials:
        """The environment variables of every provider in the registry; `overrides` (as
        NAME_api_key=..., NAME_base_url=...) win where given."""
        env = os.environ.get
        keys = {p.name: env(p.key_var) for p in PROVIDERS.values() if p.key_var}
        urls = {p.name: env(p.base_url_var) for p in PROVIDERS.values() if p.base_url_var}
        return cls(keys, urls, **overrides)

    def __repr__(self) -> str:  # keys never show up in logs or tracebacks
        return "Credentials(***)"


def _provider_argument(argument: str) -> tuple[str, Literal["key", "base_url"]]:
    """`openai_api_key` -> ("openai", "key"); `openai_base_url` -> ("openai", "base_url")."""
    for suffix, kind in (("_api_key", "key"), ("_base_url", "base_url")):
        if argument.endswith(suffix) and len(argument) > len(suffix):
            return argument.removesuffix(suffix), kind  # type: ignore[return-value]
    raise TypeError(f"Credentials got {argument!r}: name it PROVIDER_api_key or PROVIDER_base_url")
