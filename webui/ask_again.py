"""Ask a saved run's question again, with another configuration: History prefills the Ask page
(the same corpus, the run's models, the question waiting for a click)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    from storage import RunSummary
    from webui.state import Workspace

PREFILL_KEY = "rlm_ask_again"


def ask_again(summary: RunSummary, ws: Workspace) -> None:
    """Prefill Ask from a stored run and go there (its models stay editable before asking)."""
    st.session_state["ask-root-provider"] = summary.root_provider
    st.session_state["ask-root-model"] = summary.root_model
    if summary.sub_model:
        st.session_state["ask-sub-provider"] = summary.sub_provider
        st.session_state["ask-sub-model"] = summary.sub_model
    if summary.corpus_id is not None and summary.corpus_id != ws.corpus_id:
        ws.use_corpus(None, corpus_id=summary.corpus_id, name=summary.corpus_name or "")
    st.session_state[PREFILL_KEY] = summary.question
    st.switch_page("pages/ask.py")


def prefilled_question(ws: Workspace) -> str | None:
    """The question History sent, once the user clicks to ask it (None until then)."""
    question = st.session_state.get(PREFILL_KEY)
    if not question:
        return None
    with st.container(border=True):
        st.markdown("**Ask again** (change the models and budgets above first, if you like):")
        st.code(question, language="text", wrap_lines=True)
        left, right = st.columns([1, 4])
        go = left.button(
            "Ask it",
            type="primary",
            icon=":material/send:",
            key="ask-again-go",
            disabled=ws.running is not None or not ws.has_documents,
        )
        if right.button("Dismiss", key="ask-again-dismiss"):
            st.session_state.pop(PREFILL_KEY, None)
            st.rerun()
    if go:
        st.session_state.pop(PREFILL_KEY, None)
        return str(question)
    return None
