"""One entry in the provider registry is all the CLI, the app's forms and Settings need.

The provider registered here is a second OpenAI-compatible server under its own name and
variables, the way a new provider would be added; it talks to the stand-in over real HTTP.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from rlm_cli import build_parser
from rlm_cli.ask import build_config
from rlm_engine.config import Credentials, ModelSpec
from rlm_engine.errors import ProviderAuthError
from rlm_engine.events import Usage
from rlm_engine.pricing import cost_usd
from rlm_engine.providers import make_provider
from rlm_engine.providers.registry import BUILT_IN, PROVIDERS, ProviderInfo
from rlm_testkit.standin import StandIn
from tests.apptest import open_app

COMPATIBLE = ProviderInfo(
    "compatible",
    "Compatible server",
    "rlm_engine.providers.openai:OpenAIProvider",
    key_var="COMPATIBLE_API_KEY",
    base_url_var="COMPATIBLE_BASE_URL",
    base_url_note="(with /v1)",
    root_model="root-x",
    sub_model="sub-x",
)


@pytest.fixture
def compatible(monkeypatch: pytest.MonkeyPatch) -> ProviderInfo:
    """COMPATIBLE in the registry for this test only, none of its variables set."""
    monkeypatch.setitem(PROVIDERS, COMPATIBLE.name, COMPATIBLE)
    monkeypatch.delenv("COMPATIBLE_API_KEY", raising=False)
    monkeypatch.delenv("COMPATIBLE_BASE_URL", raising=False)
    return COMPATIBLE


def test_the_cli_offers_it_with_its_suggested_models(compatible: ProviderInfo) -> None:
    parser = build_parser()
    argv = ["ask", "Q?", "--context", "a.txt", "--provider", "compatible", "--sub-provider"]
    args = parser.parse_args([*argv, "compatible"])
    config = build_config(args, Credentials())
    assert config.root == ModelSpec("compatible", "root-x")
    assert config.sub == ModelSpec("compatible", "root-x")  # --sub-model defaults to --model


def test_its_key_in_the_environment_makes_it_the_default(
    compatible: ProviderInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPATIBLE_API_KEY", "sk-env")
    args = build_parser().parse_args(["ask", "Q?", "--context", "a.txt"])
    assert build_config(args, Credentials.from_env()).root == ModelSpec("compatible", "root-x")
    at = open_app("pages/ask.py")
    assert at.selectbox(key="ask-root-provider").value == "compatible"
    assert at.text_input(key="ask-root-model").value == "root-x"


def test_the_app_offers_it_and_says_it_has_no_key(compatible: ProviderInfo) -> None:
    at = open_app("pages/ask.py")
    assert "Compatible server (no key)" in at.selectbox(key="ask-root-provider").options


def test_settings_take_its_key_and_base_url(compatible: ProviderInfo) -> None:
    at = open_app("pages/settings.py")
    url = at.text_input(key="settings-compatible_base_url")
    assert url.label == "Compatible server base URL (with /v1)"
    assert str(url.placeholder) == "COMPATIBLE_BASE_URL: not set in the environment"
    at.text_input(key="settings-compatible_api_key").set_value("sk-typed")
    url.set_value("http://127.0.0.1:9/v1")
    next(b for b in at.button if b.label == "Use for this session").click()
    credentials = at.run().session_state["rlm_settings"].credentials()
    assert credentials.key("compatible") == "sk-typed"
    assert credentials.base_url("compatible") == "http://127.0.0.1:9/v1"


def test_it_is_called_with_its_own_key_and_base_url(
    compatible: ProviderInfo, standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPATIBLE_API_KEY", "sk-compatible")
    monkeypatch.setenv("COMPATIBLE_BASE_URL", standin.openai_base_url)
    standin.enqueue("4")
    provider = make_provider(ModelSpec("compatible", "root-x"), Credentials.from_env())
    assert provider.complete([{"role": "user", "content": "2+2?"}]).text == "4"
    assert standin.requests[0].model == "root-x"
    assert standin.requests[0].headers["authorization"] == "Bearer sk-compatible"


def test_without_its_key_the_error_names_its_own_variable(compatible: ProviderInfo) -> None:
    with pytest.raises(ProviderAuthError, match=r"Set COMPATIBLE_API_KEY"):
        make_provider(ModelSpec("compatible", "root-x"), Credentials(openai_api_key="sk-other"))


def test_listing_the_providers_loads_no_sdk() -> None:
    """The registry names each class: its SDK is imported when a run uses it, not before."""
    code = (
        "import sys, rlm_engine.providers.registry, rlm_engine.defaults, rlm_cli.ask;"
        "print(sorted(m for m in ('openai', 'anthropic', 'xllamacpp') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("info", [p for p in BUILT_IN if p.needs_key], ids=lambda p: p.name)
def test_the_suggested_models_have_a_known_price(info: ProviderInfo) -> None:
    for role in ("root", "sub"):
        assert cost_usd(ModelSpec(info.name, info.suggested(role)), Usage(1_000, 100)) is not None


def test_the_suggested_anthropic_models_are_not_deprecated() -> None:
    """The SDK lists the models it warns about, with their end-of-life dates."""
    from anthropic.resources.messages.messages import DEPRECATED_MODELS

    anthropic = PROVIDERS["anthropic"]
    assert {anthropic.root_model, anthropic.sub_model}.isdisjoint(DEPRECATED_MODELS)
