"""What a run uses where the user has not said: one place for the app, the CLI and the docs.

Every number a run defaults to is a field default of `RunConfig`, `Budgets` or `GuardConfig`
(rlm_engine/config.py): the CLI's flags, the app's forms and README's tables read them there.
The providers and their suggested models are in rlm_engine/providers/registry.py; with no API
key at all, the offline local model (a provider that needs no key) is the default.
"""

from __future__ import annotations

from typing import Literal

from rlm_engine.config import Budgets, Credentials
from rlm_engine.errors import ConfigError
from rlm_engine.providers.registry import PROVIDERS

APP_BUDGETS = Budgets(max_cost_usd=1.0, max_time_s=15 * 60.0)
"""What the app's forms start from: the engine's budgets plus a cost and a time cap, so that one
click cannot run up a bill (`rlm ask` and the library leave both to the program that calls them)."""


def has_key(provider: str, credentials: Credentials) -> bool:
    """Whether `provider` can be called: it has a key, or needs none."""
    info = PROVIDERS.get(provider)
    return info is None or not info.needs_key or bool(credentials.key(provider))


def default_provider(credentials: Credentials) -> str:
    """The first provider with a key; the first that needs none (the local model) otherwise."""
    keyed = [p for p in PROVIDERS.values() if p.needs_key and credentials.key(p.name)]
    return (keyed or [p for p in PROVIDERS.values() if not p.needs_key])[0].name


def suggested_model(provider: str, role: Literal["root", "sub"] = "root") -> str:
    info = PROVIDERS.get(provider)
    if info is None:
        raise ConfigError(f"Unknown provider {provider!r}: choose one of {', '.join(PROVIDERS)}.")
    return info.suggested(role)
