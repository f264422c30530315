"""Corpora: every saved corpus; a new one from files; its documents (add, remove, preview);
rename, delete, or ask."""

from __future__ import annotations

import streamlit as st

from webui.corpus_edit import edit_documents
from webui.corpus_panel import corpus_actions, draw_summary, new_corpus_from_files
from webui.document_preview import draw_preview
from webui.resources import database, shown_errors
from webui.review import when
from webui.safe_text import safe_markdown
from webui.state import workspace

st.title("Corpora")
ws = workspace()

with shown_errors("The corpora could not be read"):
    db = database()
    corpora = {c.id: c for c in db.list_corpora()}
    with st.expander("New corpus from files", expanded=not corpora, icon=":material/upload_file:"):
        saved = new_corpus_from_files(db)
        if saved is not None:
            st.session_state["corpora-open"] = saved.id
            st.toast(f"Saved {safe_markdown(saved.name)}.", icon=":material/check:")
            st.rerun()
    if not corpora:
        st.info(
            "No saved corpus yet: make one from files above, or upload files on the Ask page "
            "(they are saved when you ask)."
        )
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
        st.subheader(safe_markdown(corpus.name))
        corpus_actions(ws, db, corpus)
        draw_summary(corpus.documents)
        edit_documents(db, corpus)
        draw_preview(db, corpus)
