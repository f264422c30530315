"""Pricing: overrides, the genai-prices table, unknown and local models. Pure functions."""

from __future__ import annotations

import genai_prices
import pytest

from rlm_engine.config import ModelSpec
from rlm_engine.events import Usage
from rlm_engine.pricing import cost_usd

USAGE = Usage(input_tokens=12_000, output_tokens=3_000)
KNOWN = [ModelSpec("openai", "gpt-4o-mini"), ModelSpec("anthropic", "claude-3-5-haiku-latest")]


@pytest.mark.parametrize("spec", KNOWN, ids=lambda s: s.model)
def test_known_model_is_priced_from_the_table(spec: ModelSpec) -> None:
    table = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=12_000, output_tokens=3_000),
        spec.model,
        provider_id=spec.provider,
    )
    cost = cost_usd(spec, USAGE)
    assert cost is not None and cost > 0
    assert cost == pytest.approx(float(table.total_price))


@pytest.mark.parametrize("spec", KNOWN, ids=lambda s: s.model)
def test_output_tokens_cost_more_than_input_tokens(spec: ModelSpec) -> None:
    assert cost_usd(spec, Usage(0, 1000)) > cost_usd(spec, Usage(1000, 0))


def test_override_prices_per_million_tokens() -> None:
    spec = ModelSpec("openai", "my-finetune")
    cost = cost_usd(spec, Usage(2_000_000, 500_000), {"my-finetune": (1.5, 4.0)})
    assert cost == pytest.approx(2 * 1.5 + 0.5 * 4.0)


def test_override_wins_over_the_table() -> None:
    assert cost_usd(KNOWN[0], USAGE, {"gpt-4o-mini": (0.0, 0.0)}) == 0.0


@pytest.mark.parametrize(
    "spec",
    [
        ModelSpec("openai", "no-such-model"),
        ModelSpec("anthropic", "claude-imaginary-9"),
        ModelSpec("mystery", "gpt-4o-mini"),
    ],
    ids=lambda s: s.label,
)
def test_unknown_model_costs_none_not_zero(spec: ModelSpec) -> None:
    assert cost_usd(spec, USAGE) is None


def test_local_model_is_free() -> None:
    assert cost_usd(ModelSpec("local", "qwen2.5-coder-1.5b"), USAGE) == 0.0


def test_unknown_base_url_falls_back_to_provider_prices() -> None:
    proxied = ModelSpec("openai", "gpt-4o-mini", base_url="http://127.0.0.1:9999/v1")
    assert cost_usd(proxied, USAGE) == cost_usd(KNOWN[0], USAGE)


def test_known_base_url_prices_the_real_seller() -> None:
    spec = ModelSpec(
        "openai", "anthropic/claude-3.5-haiku", base_url="https://openrouter.ai/api/v1"
    )
    table = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=12_000, output_tokens=3_000),
        spec.model,
        provider_api_url=spec.base_url,
    )
    assert cost_usd(spec, USAGE) == pytest.approx(float(table.total_price))
