"""Compare: one question over one corpus under 2-4 model configurations, side by side."""

from __future__ import annotations

import streamlit as st

from webui import compare_flow
from webui.resources import database, shown_errors
from webui.state import compare_state, settings, workspace

state = compare_state()
st.title("Compare")

new, saved, picked = st.tabs(["New comparison", "Saved comparisons", "Runs from History"])
with new, shown_errors("The comparison could not run"):
    compare_flow.new_comparison(state, database(), settings(), workspace())
with saved, shown_errors("The saved comparisons could not be read"):
    compare_flow.saved_comparisons(database())
with picked, shown_errors("The runs could not be read"):
    compare_flow.picked_runs(database())
