"""Which provider and models a run uses when the user has not said: one place for the app and CLI.

The providers and their suggested models are listed in rlm_engine/providers/registry.py. With no
API key at all, the offline local model (a provider that needs no key) is the default.
"""

from __future__ import annotations

from typing import Literal

from rlm_engine.config import Credentials
from rlm_engine.errors import ConfigError
from rlm_engine.providers.registry import PROVIDERS


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
