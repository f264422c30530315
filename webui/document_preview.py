"""The extracted text of one document of a saved corpus, page by page for a PDF: what the model
reads, so a user can see what a scanned or odd PDF gave."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    from storage import CorpusInfo, Database

SHOWN_CHARS = 20_000  # of one page or text file; the rest is counted, not drawn


def page_text(text: str, offsets: tuple[int, ...], page: int) -> str:
    """Page `page` (1-based) of a PDF's text, from where each page starts (no form feed)."""
    start = offsets[page - 1]
    end = offsets[page] if page < len(offsets) else len(text)
    return text[start:end].rstrip("\f")


def draw_preview(db: Database, corpus: CorpusInfo) -> None:
    """Pick a document (and a page of a PDF); its text as extracted, shown as plain text."""
    names = [d.name for d in corpus.documents]
    if not names:
        return
    index = st.selectbox(
        "Preview a document's extracted text",
        range(len(names)),
        format_func=lambda i: names[i],
        index=None,
        placeholder="Choose a document to read what was extracted from it",
        key=f"corpora-preview-{corpus.id}",
    )
    if index is None:
        return
    document = db.corpus_document(corpus.id, index)
    if document is None:
        st.warning("This document is no longer in the corpus.", icon=":material/warning:")
        return
    text, offsets = document["text"] or "", tuple(document["page_offsets"] or ())
    if document["kind"] == "pdf" and offsets:
        page = st.number_input(
            f"Page (of {len(offsets)})",
            min_value=1,
            max_value=len(offsets),
            value=1,
            key=f"corpora-preview-page-{corpus.id}-{index}",
        )
        text = page_text(text, offsets, int(page))
    if not text.strip():
        st.info(
            "No text was extracted here (a scanned page has only an image of its text).",
            icon=":material/info:",
        )
        return
    caption = f"{len(text):,} characters"
    if len(text) > SHOWN_CHARS:
        caption += f" · the first {SHOWN_CHARS:,} shown"
    st.caption(caption)
    st.code(text[:SHOWN_CHARS], language="text", wrap_lines=True)
