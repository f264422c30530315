"""The Settings page under AppTest: session-only keys, prices, the offline model, the database."""

from __future__ import annotations

import os

from tests.apptest import markdown_text, open_app
from webui.downloads import Downloads


def save_keys(**values: str):
    at = open_app("pages/settings.py")
    for name, value in values.items():
        at.text_input(key=f"settings-{name}").set_value(value)
    next(b for b in at.button if b.label == "Use for this session").click()
    return at.run()


def test_a_typed_key_is_used_for_the_session_only() -> None:
    at = save_keys(anthropic_api_key="sk-ant-typed")
    assert at.session_state["rlm_settings"].credentials().anthropic_api_key == "sk-ant-typed"
    assert "ANTHROPIC_API_KEY" not in os.environ


def test_a_typed_key_makes_its_provider_the_default() -> None:
    at = save_keys(anthropic_api_key="sk-ant-typed")
    at.switch_page("pages/ask.py").run()
    assert at.selectbox(key="ask-root-provider").value == "anthropic"


def test_the_environment_key_counts(monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    at = open_app("pages/settings.py")
    assert "OpenAI: :green[key set]" in markdown_text(at)


def test_settings_never_show_a_key_in_their_repr() -> None:
    at = save_keys(openai_api_key="sk-secret-123")
    assert "sk-secret-123" not in repr(at.session_state["rlm_settings"])


def test_the_database_location_is_shown(isolated_env) -> None:
    at = open_app("pages/settings.py")
    assert str(isolated_env) in markdown_text(at)


def test_the_offline_model_status_is_shown() -> None:
    at = open_app("pages/settings.py")
    assert any("not downloaded" in i.value for i in at.info)


def test_a_failed_download_says_why() -> None:
    download = Downloads().start("no-such-model")
    assert download.finished.wait(30)
    assert "Unknown local model" in download.error
