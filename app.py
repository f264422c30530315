"""RLM Workbench's web app: the composition root. Run it with `streamlit run app.py`.

Pages live in pages/ and stay thin; what they share (session state, the run worker, drawing of
events) is in the webui package.
"""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="RLM Workbench", page_icon=":material/account_tree:", layout="wide")

PAGES = [
    st.Page("pages/ask.py", title="Ask", icon=":material/chat:", default=True),
    st.Page("pages/history.py", title="History", icon=":material/history:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
    st.Page("pages/evaluate.py", title="Evaluate", icon=":material/fact_check:"),
    st.Page("pages/corpora.py", title="Corpora", icon=":material/library_books:"),
    st.Page("pages/settings.py", title="Settings", icon=":material/settings:"),
]

st.navigation(PAGES).run()
