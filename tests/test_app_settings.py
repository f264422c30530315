"""The Settings page under AppTest: session-only keys, prices, the offline model, the database."""

from __future__ import annotations

import os

import pandas as pd

from tests.apptest import markdown_text, open_app
from webui.downloads import Downloads
from webui.prices import overrides_from, price_table


def save_keys(**values: str):
    at = open_app("pages/settings.py")
    for name, value in values.items():
        at.text_input(key=f"settings-{name}").set_value(value)
    next(b for b in at.button if b.label == "Use for this session").click()
    return at.run()


def test_a_typed_key_is_used_for_the_session_only() -> None:
    at = save_keys(anthropic_api_key="sk-ant-typed")
    assert at.session_state["rlm_settings"].credentials().key("anthropic") == "sk-ant-typed"
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


def test_prices_table_rows_become_overrides() -> None:
    table = pd.DataFrame(
        {
            "model": ["house-model", "", None, " spaced "],
            "input_per_million": [2.5, 1.0, 1.0, float("nan")],
            "output_per_million": [10.0, 1.0, 1.0, 4.0],
        }
    )
    assert overrides_from(table) == {"house-model": (2.5, 10.0), "spaced": (0.0, 4.0)}


def test_prices_table_round_trips() -> None:
    prices = {"a": (1.0, 2.0), "b": (0.5, 0.0)}
    assert overrides_from(price_table(prices)) == prices
    assert overrides_from(price_table({})) == {}


def test_prices_in_use_are_shown_again_after_another_page() -> None:
    at = open_app()
    at.session_state["rlm_settings"].price_overrides = {"house-model": (2.5, 10.0)}
    at.switch_page("pages/settings.py").run()
    at.switch_page("pages/ask.py").run()
    at.switch_page("pages/settings.py").run()
    (table,) = [d.value for d in at.dataframe]
    assert table.to_dict("records") == [
        {"model": "house-model", "input_per_million": 2.5, "output_per_million": 10.0}
    ]
    assert at.session_state["rlm_settings"].price_overrides == {"house-model": (2.5, 10.0)}


def test_the_prices_table_data_stays_put_while_the_page_reruns() -> None:
    """Its data is its identity (dynamic rows): new data would drop the edits made in it."""
    at = open_app("pages/settings.py")
    before = at.dataframe[0].value
    at.session_state["rlm_settings"].price_overrides = {"elsewhere": (1.0, 1.0)}
    assert at.run().dataframe[0].value.equals(before)
