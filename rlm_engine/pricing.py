"""What a call cost, in USD: user overrides first, then the genai-prices table.

genai-prices ships its table inside the package; it only fetches prices over the network when
`UpdatePrices` is started, which we never do, so pricing works offline and never changes mid-run.
An unknown model costs `None` (shown as "unknown", never as $0); the local provider costs 0.
Prompt-cache reads and writes (`Usage.cached_tokens`, `cache_write_tokens`, both part of
`input_tokens`) are priced at the table's own cache rates; an override prices them as input.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from rlm_engine.config import ModelSpec
from rlm_engine.events import Usage

__all__ = ["context_window", "cost_usd"]

PER_MILLION = 1_000_000


def cost_usd(
    spec: ModelSpec,
    usage: Usage,
    overrides: dict[str, tuple[float, float]] | None = None,
) -> float | None:
    """USD for one call. `overrides`: model name -> (USD per million input, output tokens)."""
    if overrides and spec.model in overrides:
        input_price, output_price = overrides[spec.model]
        return (usage.input_tokens * input_price + usage.output_tokens * output_price) / PER_MILLION
    if spec.provider == "local":
        return 0.0
    found = _lookup(spec.provider, spec.base_url, spec.model)
    if found is None:
        return None
    provider, model = found
    from genai_prices import Usage as PriceUsage

    counts = PriceUsage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cached_tokens,
        cache_write_tokens=usage.cache_write_tokens,
    )
    return float(model.calc_price(counts, provider).total_price)


def context_window(spec: ModelSpec) -> int | None:
    """The model's context window in tokens, as the genai-prices table knows it (None: unknown)."""
    if spec.provider == "local":
        return None
    found = _lookup(spec.provider, spec.base_url, spec.model)
    window = getattr(found[1], "context_window", None) if found else None
    return int(window) if window else None


@lru_cache(maxsize=256)
def _lookup(provider_id: str, base_url: str | None, model: str) -> tuple[Any, Any] | None:
    """The table's (provider, model) entry, found once per model (a miss costs ~1 ms).

    A base URL the table knows (e.g. OpenRouter) names the real seller; any other URL (a proxy,
    a test stand-in) falls back to the provider's own prices.
    """
    from genai_prices import data_snapshot  # ~0.5 s: only when a price is first needed

    snapshot = data_snapshot.get_snapshot()
    attempts = [(None, base_url)] if base_url else []
    attempts.append((provider_id, None))
    for by_id, by_url in attempts:
        try:
            return snapshot.find_provider_model(model, None, by_id, by_url)
        except LookupError:
            continue
    return None
