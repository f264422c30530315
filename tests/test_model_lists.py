"""Listing an endpoint's models through the real SDKs, against the HTTP stand-in."""

from __future__ import annotations

import logging
import socket

import pytest

from rlm_engine.config import Credentials
from rlm_engine.local_models import CATALOG
from rlm_engine.model_lists import ModelListError, list_models
from rlm_testkit.standin import StandIn

KEY = "sk-secret-key-never-shown-1234567890"


def _credentials(url: str) -> Credentials:
    return Credentials(
        openai_api_key=KEY,
        anthropic_api_key=KEY,
        openai_base_url=f"{url}/v1",
        anthropic_base_url=url,
    )


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_the_endpoint_lists_its_models(standin: StandIn, provider: str) -> None:
    standin.models = ["zeta-model", "alpha-model"]
    assert list_models(provider, _credentials(standin.url)) == ["alpha-model", "zeta-model"]


def test_the_local_provider_lists_its_catalogue() -> None:
    assert list_models("local", Credentials()) == sorted(CATALOG)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_an_unreachable_endpoint_fails_quickly_without_the_key(
    provider: str, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ModelListError) as error:
        list_models(provider, _credentials(f"http://127.0.0.1:{port}"), timeout_s=2)
    assert f"127.0.0.1:{port}" in str(error.value)
    assert KEY not in str(error.value) and KEY not in caplog.text


def test_a_refusal_says_so(standin: StandIn) -> None:
    with pytest.raises(ModelListError, match="HTTP 404"):
        list_models("openai", Credentials(openai_api_key=KEY, openai_base_url=f"{standin.url}/x"))
