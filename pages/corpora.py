"""Corpora: every saved corpus; its documents; rename, delete, or ask about it."""

from __future__ import annotations

import streamlit as st

from webui.corpus_panel import draw_summary
from webui.resources import database, shown_errors
from webui.review import when
from webui.state import workspace

st.title("Corpora")
ws = workspace()

with shown_errors("The corpora could not be read"):
    db = database()
    corpora = {c.id: c for c in db.list_corpora()}
    if not corpora:
        st.info("No saved corpus yet. Upload files on the Ask page: they are saved when you ask.")
        st.stop()
    st.dataframe(
        [
            {
                "name": c.name,
                "documents": c.n_documents,
                "characters": c.total_chars,
                "tokens (estimate)": (c.total_chars + 3) // 4,
                "created": when(c.created_at),
            }
            for c in corpora.values()
        ],
        hide_index=True,
        width="stretch",
    )
    corpus_id = st.selectbox(
        "Open a corpus",
        list(corpora),
        index=None,
        format_func=lambda i: corpora[i].name,
        placeholder="Choose a corpus to see its documents",
        key="corpora-open",
    )
    if corpus_id is not None:
        corpus = db.get_corpus(corpus_id)
        st.subheader(corpus.name)
        actions = st.columns([1, 1, 1, 3])
        if actions[0].button("Ask about it", icon=":material/chat:", type="primary"):
            ws.use_corpus(None, corpus_id=corpus.id, name=corpus.name)
            st.switch_page("pages/ask.py")
        with actions[1].popover("Rename", icon=":material/edit:"), st.form("corpora-rename"):
            name = st.text_input("New name", value=corpus.name, key="corpora-name")
            if st.form_submit_button("Rename", key="corpora-rename-ok") and name.strip():
                db.rename_corpus(corpus.id, name.strip())
                if ws.corpus_id == corpus.id:
                    ws.corpus_name = name.strip()
                st.rerun()
        with actions[2].popover("Delete", icon=":material/delete:"):
            st.write(f"Delete **{corpus.name}** and its documents? Its runs stay in History.")
            if st.button("Delete corpus", type="primary", key="corpora-delete"):
                db.delete_corpus(corpus.id)
                if ws.corpus_id == corpus.id:
                    ws.clear_corpus()
                st.session_state.pop("corpora-open", None)
                st.rerun()
        draw_summary(corpus.documents)
