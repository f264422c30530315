"""Model providers behind one interface, listed in `registry`, made by `make_provider`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rlm_engine.errors import ConfigError
from rlm_engine.providers.base import Completion, Message, Provider
from rlm_engine.providers.registry import (
    PROVIDERS,
    ProviderFactory,
    ProviderInfo,
    provider_info,
    provider_names,
    register_provider,
)

if TYPE_CHECKING:
    from rlm_engine.config import Credentials, ModelSpec

__all__ = [
    "PROVIDERS",
    "Completion",
    "Message",
    "Provider",
    "ProviderFactory",
    "ProviderInfo",
    "make_provider",
    "provider_info",
    "provider_names",
    "register_provider",
]


def make_provider(
    spec: ModelSpec,
    credentials: Credentials,
    *,
    timeout_s: float = 120.0,
    max_retries: int = 3,
) -> Provider:
    """Build the provider for `spec`. Its SDK is imported here, on first use, not at import time."""
    info = provider_info(spec.provider)
    if info is None:
        raise ConfigError(
            f"Unknown provider {spec.provider!r}: choose one of {', '.join(provider_names())}."
        )
    return info.factory()(spec, credentials, timeout_s=timeout_s, max_retries=max_retries)
