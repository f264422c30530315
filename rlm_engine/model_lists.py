"""The models an endpoint offers, so model fields can offer them: an OpenAI-compatible server's
`/v1/models` and the Anthropic models API, each through its own SDK, and the local catalogue.

A short timeout and no retries: the list is a convenience, and a field still takes any name.
Errors name the endpoint and the kind of failure, never a key.
"""

from __future__ import annotations

from typing import Any

from rlm_engine.config import Credentials
from rlm_engine.errors import ProviderError
from rlm_engine.providers.retry import NO_KEY_NEEDED

LIST_TIMEOUT_S = 5.0
MAX_MODELS = 1_000  # an endpoint listing more is cut here (pages are fetched until then)


class ModelListError(ProviderError):
    """The endpoint did not list its models (unreachable, refused, not supported)."""


def list_models(
    provider: str, credentials: Credentials, *, timeout_s: float = LIST_TIMEOUT_S
) -> list[str]:
    """The model ids `provider` offers with these credentials, sorted. Raises ModelListError."""
    if provider == "local":
        from rlm_engine.local_models import CATALOG

        return sorted(CATALOG)
    if provider == "openai":
        from rlm_engine.providers.lazy_sdk import import_sdk

        openai = import_sdk("openai")

        where = credentials.base_url(provider) or "https://api.openai.com/v1"
        sdk: Any = openai
        client: Any = openai.OpenAI(
            api_key=credentials.key(provider) or NO_KEY_NEEDED,
            base_url=credentials.base_url(provider),
            timeout=timeout_s,
            max_retries=0,
        )
    elif provider == "anthropic":
        import anthropic

        where = credentials.base_url(provider) or "https://api.anthropic.com"
        sdk = anthropic
        client = anthropic.Anthropic(
            api_key=credentials.key(provider) or NO_KEY_NEEDED,
            base_url=credentials.base_url(provider),
            timeout=timeout_s,
            max_retries=0,
        )
    else:
        raise ModelListError(f"The {provider} provider cannot list its models.")
    try:
        pages = client.models.list(limit=100) if provider == "anthropic" else client.models.list()
        ids: list[str] = []
        for model in pages:  # the SDKs fetch the next page as needed
            ids.append(model.id)
            if len(ids) >= MAX_MODELS:
                break
    except sdk.APIStatusError as exc:
        raise ModelListError(f"{where} refused to list models (HTTP {exc.status_code}).") from None
    except sdk.APIError as exc:
        raise ModelListError(
            f"{where} did not list models ({type(exc).__name__.removeprefix('API')})."
        ) from None
    finally:
        client.close()
    return sorted(set(ids))
