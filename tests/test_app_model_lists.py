"""Model fields offer the endpoint's models (listed on request through the real SDKs against
the stand-in), fall back to the suggested ones quietly, and still take any name."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from rlm_testkit.standin import StandIn
from tests.apptest import open_app


def _provider(at: Any, provider: str) -> Any:
    return at.selectbox(key="ask-root-provider").set_value(provider).run()


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_the_list_offers_the_endpoints_models(standin_env: StandIn, provider: str) -> None:
    standin_env.models = ["house-large", "house-small"]
    at = _provider(open_app(), provider)
    assert "house-large" not in at.selectbox(key="ask-root-pick").options  # not fetched yet
    at.button(key="ask-root-list").click().run()
    assert at.selectbox(key="ask-root-pick").options == ["house-large", "house-small"]
    at.selectbox(key="ask-root-pick").set_value("house-small").run()
    assert at.text_input(key="ask-root-model").value == "house-small"
    assert at.selectbox(key="ask-root-pick").value is None  # a chooser, back to its placeholder
    at.text_input(key="ask-root-model").set_value("typed-by-hand").run()  # free text still
    assert at.text_input(key="ask-root-model").value == "typed-by-hand"
    assert not at.exception


def test_a_failed_listing_falls_back_to_the_suggestions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-never-shown-0123456789")
    at = _provider(open_app(), "openai")
    at.button(key="ask-root-list").click().run()
    assert "gpt-5-mini" in at.selectbox(key="ask-root-pick").options
    notes = " ".join(c.value for c in at.caption)
    assert "Could not list the models" in notes and "sk-never" not in notes
    assert not at.exception


def test_typing_a_name_leaves_the_list_alone() -> None:
    """The app never sets the list from the field: the browser would send the list's old value
    back with its next event (a field typed in before the redraw came), and that value counted
    as a pick would put the old model back in the field."""
    at = open_app()
    shown = at.selectbox(key="ask-root-pick").value
    at.text_input(key="ask-root-model").set_value("model-a").run()
    assert at.selectbox(key="ask-root-pick").value == shown
    at.text_input(key="ask-sub-model").set_value("model-b").run()  # the next event
    assert at.text_input(key="ask-root-model").value == "model-a"
    assert not at.exception
