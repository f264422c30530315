"""Every model provider the app, the CLI and the library offer: one entry each, in one place.

Adding a provider is its module in rlm_engine/providers/ (a `Provider` subclass taking
`(spec, credentials, *, timeout_s, max_retries)`) and one `ProviderInfo` in `BUILT_IN`. The CLI's
choices, the app's forms, the Settings page, the keys read from the environment and the suggested
models all come from here. The class is named, not imported: listing providers never loads an SDK.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rlm_engine.providers.base import Provider

ProviderFactory = Callable[..., "Provider"]
"""`(spec, credentials, *, timeout_s, max_retries) -> Provider`."""


@dataclass(frozen=True)
class ProviderInfo:
    """One provider: its name, how it is shown, where its keys come from, its usual models."""

    name: str  # --provider, ModelSpec.provider, the "provider:" of "provider:model"
    title: str  # what the app shows
    # "module:Class", imported on first use; or the factory itself (a host program's provider)
    implementation: str | ProviderFactory
    key_var: str | None = None  # the API key's environment variable (None: needs no key)
    base_url_var: str | None = None  # the endpoint's environment variable (None: none to set)
    base_url_note: str = ""  # what the Settings page says after "base URL"
    root_model: str = ""  # suggested when the provider is chosen
    sub_model: str = ""  # suggested for llm_query (the root model when empty)
    # what one sub-call is told it may read (the prompts' sizing advice; the fallback's chunks)
    sub_call_chars: int = 100_000
    # the SDK module its first request imports (tenths of a second): imported ahead, in a thread,
    # while the corpus loads and the sandbox starts (rlm_engine.warm); None: nothing to warm
    sdk: str | None = None

    @property
    def needs_key(self) -> bool:
        return self.key_var is not None

    def factory(self) -> ProviderFactory:
        """The provider's class (or factory), its module imported now."""
        if callable(self.implementation):
            return self.implementation
        module, _, name = self.implementation.partition(":")
        return getattr(importlib.import_module(module), name)

    def suggested(self, role: str = "root") -> str:
        """The model suggested for `role` ("root" or "sub")."""
        return self.sub_model if role == "sub" and self.sub_model else self.root_model


BUILT_IN = (
    ProviderInfo(
        "openai",
        "OpenAI",
        "rlm_engine.providers.openai:OpenAIProvider",
        key_var="OPENAI_API_KEY",
        base_url_var="OPENAI_BASE_URL",
        base_url_note="(with /v1)",
        root_model="gpt-5-mini",
        sub_model="gpt-5-nano",
        sdk="openai",
    ),
    ProviderInfo(
        "anthropic",
        "Anthropic",
        "rlm_engine.providers.anthropic:AnthropicProvider",
        key_var="ANTHROPIC_API_KEY",
        base_url_var="ANTHROPIC_BASE_URL",
        root_model="claude-sonnet-5-5",
        sub_model="claude-haiku-4-5",
        sdk="anthropic",
    ),
    ProviderInfo(
        "local",
        "Local (offline)",
        "rlm_engine.providers.local:LocalProvider",
        root_model="qwen2.5-coder-1.5b",  # the default of rlm_engine.local_models
        sub_call_chars=20_000,  # a small model's window
    ),
)

PROVIDERS: dict[str, ProviderInfo] = {info.name: info for info in BUILT_IN}
"""The providers in the order they are offered; `register_provider` adds to it."""


def register_provider(info: ProviderInfo) -> None:
    """Offer `info` in this process, e.g. a host program's provider (the `llm` plugin's)."""
    PROVIDERS[info.name] = info


def provider_names() -> tuple[str, ...]:
    return tuple(PROVIDERS)


def provider_info(name: str) -> ProviderInfo | None:
    return PROVIDERS.get(name)


def provider_title(name: str) -> str:
    info = PROVIDERS.get(name)
    return info.title if info else name


def key_hint(name: str) -> str:
    """What to do about a missing or refused key of the provider `name`."""
    info = PROVIDERS.get(name)
    where = info.key_var if info and info.key_var else "the provider's key"
    return f"Set {where} or enter the key on the Settings page."


def sub_call_chars(provider: str) -> int:
    """What one sub-call to `provider` may read, as the prompts and the fallback size it."""
    info = PROVIDERS.get(provider)
    return info.sub_call_chars if info else ProviderInfo.sub_call_chars
