"""Which provider and models a run uses when the user has not said: one place for the app and CLI.

With no API key at all, the offline local model is the default.
"""

from __future__ import annotations

from typing import Literal

from rlm_engine.config import Credentials

# provider -> (root model, sub model) suggested when the provider is chosen
SUGGESTED_MODELS = {
    "openai": ("gpt-5-mini", "gpt-5-nano"),
    "anthropic": ("claude-sonnet-4-5", "claude-haiku-4-5"),
}


def has_key(provider: str, credentials: Credentials) -> bool:
    if provider == "openai":
        return bool(credentials.openai_api_key)
    if provider == "anthropic":
        return bool(credentials.anthropic_api_key)
    return True


def default_provider(credentials: Credentials) -> str:
    """The first provider with a key; the local model when there is none."""
    return next((p for p in ("openai", "anthropic") if has_key(p, credentials)), "local")


def suggested_model(provider: str, role: Literal["root", "sub"] = "root") -> str:
    if provider == "local":
        from rlm_engine.local_models import default_local_model

        return default_local_model()
    root, sub = SUGGESTED_MODELS[provider]
    return root if role == "root" else sub
