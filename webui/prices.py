"""The Settings page's price overrides: an editable table that keeps its edits.

`st.data_editor` with dynamic rows takes its identity from its data: rebuilt from the saved
prices on every rerun, it became a new, empty-handed widget after each edit. Its base rows are
therefore kept in session state, untouched while the page is shown, and rebuilt from the prices
in use only when the editor is drawn afresh (its widget state is gone after a visit elsewhere).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from webui.state import Settings

EDITOR_KEY = "settings-prices"
ROWS_KEY = "rlm_price_rows"
COLUMNS = {
    "model": st.column_config.TextColumn("Model", help="As named in the run settings", width=260),
    "input_per_million": st.column_config.NumberColumn(
        "Input $/M tokens", min_value=0.0, width=160
    ),
    "output_per_million": st.column_config.NumberColumn(
        "Output $/M tokens", min_value=0.0, width=160
    ),
}

Prices = dict[str, tuple[float, float]]


def shown_url(url: str) -> str:
    """A base URL fit to show: scheme, host, port and path, never a user, password or query
    (where a key could hide)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "set in the environment (not a valid URL)"
    if not parts.scheme or not host:
        return "set in the environment (not a valid URL)"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def price_table(overrides: Prices) -> pd.DataFrame:
    """The overrides as the editor's rows (typed columns, so an empty table can grow rows)."""
    return pd.DataFrame(
        {
            "model": pd.Series(list(overrides), dtype="object"),
            "input_per_million": pd.Series([p[0] for p in overrides.values()], dtype="float64"),
            "output_per_million": pd.Series([p[1] for p in overrides.values()], dtype="float64"),
        }
    )


def _price(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(number) else max(number, 0.0)


def overrides_from(table: pd.DataFrame) -> Prices:
    """The rows that name a model; an empty price counts as 0."""
    overrides: Prices = {}
    for row in table.to_dict("records"):
        model = row.get("model")
        if not isinstance(model, str) or not model.strip():
            continue
        overrides[model.strip()] = (
            _price(row.get("input_per_million")),
            _price(row.get("output_per_million")),
        )
    return overrides


def price_editor(prefs: Settings) -> None:
    """The editable table; what it shows is what new runs of this session are priced with."""
    if EDITOR_KEY not in st.session_state:  # drawn afresh: start from the prices in use
        st.session_state[ROWS_KEY] = price_table(prefs.price_overrides)
    edited = st.data_editor(
        st.session_state[ROWS_KEY],
        num_rows="dynamic",
        width="content",  # columns as wide as configured: cells stay where tests click them
        hide_index=True,
        key=EDITOR_KEY,
        column_config=COLUMNS,
    )
    prefs.price_overrides = overrides_from(edited)
