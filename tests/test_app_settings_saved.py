"""Settings: the environment's base URL shown (never a key), price overrides saved to disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.apptest import open_app
from webui.saved_prices import load_prices, save_prices


def placeholder(at, name: str) -> str:
    return str(at.text_input(key=f"settings-{name}").placeholder)


def test_the_environment_base_url_is_shown_and_never_a_key(monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://user:pw@10.1.2.3:8000/v1?api-key=sk-q")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-secret")
    at = open_app("pages/settings.py")
    assert placeholder(at, "openai_base_url") == "OPENAI_BASE_URL: http://10.1.2.3:8000/v1"
    shown = " ".join(placeholder(at, n) for n in ("openai_api_key", "openai_base_url"))
    assert "sk-" not in shown and "pw" not in shown


def test_saved_prices_start_every_new_session(isolated_env: Path) -> None:
    at = open_app()
    at.session_state["rlm_settings"].price_overrides = {"house-model": (2.5, 10.0)}
    at.switch_page("pages/settings.py").run()  # the editor shows the prices in use
    at.button(key="settings-prices-save").click().run()
    assert not at.exception
    fresh = open_app("pages/settings.py")  # another browser session
    assert fresh.session_state["rlm_settings"].price_overrides == {"house-model": (2.5, 10.0)}


@pytest.mark.parametrize("content", ["not json", '{"m": [1]}', '{"m": [-1, 2]}', "[1, 2]"])
def test_a_bad_prices_file_is_left_alone(isolated_env: Path, content: str) -> None:
    save_prices({})
    path = Path(isolated_env) / "prices.json"
    path.write_text(content)
    assert load_prices() == {}
    assert path.read_text() == content  # nothing lost
