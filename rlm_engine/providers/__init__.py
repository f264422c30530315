"""Model providers behind one interface, picked by name in one place: `make_provider`."""

from __future__ import annotations

from collections.abc import Callable

from rlm_engine.config import Credentials, ModelSpec
from rlm_engine.errors import ConfigError
from rlm_engine.providers.base import Completion, Message, Provider

__all__ = [
    "PROVIDERS",
    "Completion",
    "Message",
    "Provider",
    "ProviderFactory",
    "make_provider",
    "provider_names",
    "register_provider",
]

PROVIDERS = ("openai", "anthropic", "local")

# (spec, credentials, timeout_s, max_retries) -> Provider
ProviderFactory = Callable[[ModelSpec, Credentials, float, int], Provider]
_REGISTERED: dict[str, ProviderFactory] = {}


def register_provider(name: str, factory: ProviderFactory) -> None:
    """Let a host program (e.g. the `llm` plugin) add a provider under `name`, for this process."""
    _REGISTERED[name] = factory


def provider_names() -> tuple[str, ...]:
    """The built-in providers, then those registered in this process."""
    return PROVIDERS + tuple(name for name in _REGISTERED if name not in PROVIDERS)


def make_provider(
    spec: ModelSpec,
    credentials: Credentials,
    *,
    timeout_s: float = 120.0,
    max_retries: int = 3,
) -> Provider:
    """Build the provider for `spec`. SDKs are imported here, on first use, not at import time."""
    if spec.provider in _REGISTERED:
        return _REGISTERED[spec.provider](spec, credentials, timeout_s, max_retries)
    if spec.provider == "openai":
        from rlm_engine.providers.openai import OpenAIProvider

        return OpenAIProvider(spec, credentials, timeout_s=timeout_s, max_retries=max_retries)
    if spec.provider == "anthropic":
        from rlm_engine.providers.anthropic import AnthropicProvider

        return AnthropicProvider(spec, credentials, timeout_s=timeout_s, max_retries=max_retries)
    if spec.provider == "local":
        from rlm_engine.providers.local import LocalProvider

        return LocalProvider(spec, timeout_s=timeout_s)
    raise ConfigError(f"Unknown provider {spec.provider!r}: choose one of {', '.join(PROVIDERS)}.")
