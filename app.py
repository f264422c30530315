"""RLM Workbench's web app: the composition root. Run it with `streamlit run app.py`.

Pages live in pages/ and stay thin; what they share (session state, the run worker, drawing of
events) is in the webui package.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

# The icon ships with the app: a `:material/...:` page icon is fetched from a font server by the
# browser, which fails offline (and tells a third party that the app was opened).
ICON = Path(__file__).resolve().parent / "webui" / "assets" / "icon.png"
st.set_page_config(page_title="RLM Workbench", page_icon=str(ICON), layout="wide")
# A run's five metrics share a chat message's width: at 1280 px the default size cut "1 min 05 s".
# A live run's Stop button (webui.live) stays in view at the bottom of the window; the
# timeline's anchors (webui.draw) take no room.
st.html(
    "<style>[data-testid='stMetricValue'] { font-size: 1.75rem; }"
    # (the sticky box is the container's wrapper; 8.5rem clears the chat input below it)
    "[data-testid='stLayoutWrapper']:has(> [class*='-stopbar']) { position: sticky;"
    " bottom: 8.5rem; z-index: 10; padding: 0.25rem 0; background: rgba(255, 255, 255, 0.95); }"
    "[data-testid='stElementContainer']:has(.rlm-anchor) { margin-bottom: -1rem; }</style>"
)

PAGES = [
    st.Page("pages/ask.py", title="Ask", icon=":material/chat:", default=True),
    st.Page("pages/history.py", title="History", icon=":material/history:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
    st.Page("pages/evaluate.py", title="Evaluate", icon=":material/fact_check:"),
    st.Page("pages/corpora.py", title="Corpora", icon=":material/library_books:"),
    st.Page("pages/settings.py", title="Settings", icon=":material/settings:"),
]

st.navigation(PAGES).run()
