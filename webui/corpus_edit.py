"""Adding documents to a saved corpus and taking them out, from the Corpora page.

A run reading the corpus is never changed under it: while one goes, editing waits. The Ask
page's conversation over this corpus starts again afterwards (its REPL holds the old texts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

from webui.corpus_panel import draw_summary, extract, file_picker, upload_key
from webui.safe_text import safe_markdown
from webui.state import corpus_in_use, workspace

if TYPE_CHECKING:
    from rlm_engine.corpus import Corpus
    from storage import CorpusInfo, Database
    from webui.corpus_panel import UploadKey


@dataclass
class Additions:
    """Files dropped to add to one corpus: extracted once; `round` empties the uploader."""

    round: int = 0
    upload_key: UploadKey | None = None
    corpus: Corpus | None = None


def _changed(db: Database, corpus_id: int, message: str) -> None:
    ws = workspace()
    if ws.corpus_id == corpus_id and (ws.conversation or ws.earlier):
        ws.use_corpus(None, corpus_id=corpus_id, name=ws.corpus_name)
        message += " The conversation on Ask over it starts again."
    st.toast(message, icon=":material/check:")
    st.rerun()


def edit_documents(db: Database, corpus: CorpusInfo) -> None:
    """Two expanders: add files to the corpus; remove documents from it."""
    busy = corpus_in_use(corpus.id)
    if busy:
        st.caption(
            f":orange[A run on the {busy} page is reading this corpus: its documents can be "
            "changed when it ends.]"
        )
    with st.expander("Add documents", icon=":material/note_add:"):
        additions = st.session_state.setdefault(f"rlm_add_{corpus.id}", Additions())
        files = file_picker(
            key=f"corpora-add-{corpus.id}-{additions.round}",
            help="PDF or text files to append to this corpus.",
        )
        if files:
            key = upload_key(files)
            if key != additions.upload_key or additions.corpus is None:
                additions.upload_key, additions.corpus = key, extract(files)
            draw_summary(additions.corpus.documents, additions.corpus.problems)
            count = len(additions.corpus.documents)
            if st.button(
                f"Add {count} document{'s' if count != 1 else ''}",
                type="primary",
                icon=":material/add:",
                key=f"corpora-add-go-{corpus.id}",
                disabled=not count or bool(busy),
            ):
                before = corpus.n_documents
                after = db.add_documents(corpus.id, additions.corpus.documents).n_documents
                additions.round += 1
                additions.upload_key, additions.corpus = None, None
                added = after - before
                note = "" if added == count else f" ({count - added} already in it)"
                _changed(db, corpus.id, f"Added {added} to {safe_markdown(corpus.name)}{note}.")
    with st.expander("Remove documents", icon=":material/playlist_remove:"):
        names = {d.position: d.name for d in corpus.documents}
        chosen = st.multiselect(
            "Documents to remove",
            list(names),
            format_func=names.__getitem__,
            key=f"corpora-remove-{corpus.id}",
            placeholder="Choose documents",
        )
        st.caption(
            "Runs already asked keep their answers and their sources; a source in a removed "
            "document shows the passage as recorded."
        )
        if st.button(
            "Remove from the corpus",
            icon=":material/delete:",
            key=f"corpora-remove-go-{corpus.id}",
            disabled=not chosen or bool(busy),
        ):
            left = db.remove_documents(corpus.id, chosen)
            st.session_state.pop(f"corpora-remove-{corpus.id}", None)
            _changed(
                db,
                corpus.id,
                f"Removed {len(chosen)} from {safe_markdown(corpus.name)}; "
                f"{left.n_documents} left.",
            )
