"""Sources under an answer (Ask, History, Compare) and the passages of a trace.

Numbered as answers may cite them ([1], [2]); each shows its document, page and a short quote
with the answer's parts marked, and opens in place: a PDF page image with the passage
highlighted, or the text around it. Every character of corpus or model text is escaped
(webui.safe_text): nothing in a document or an answer can load or run anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import streamlit as st

from rlm_engine.sources.answer import part_spans
from webui.safe_text import safe_markdown
from webui.source_page import quote_html, render_pdf_page, text_excerpt_html

if TYPE_CHECKING:
    from storage import Database

DocumentLoader = Callable[[int], dict[str, Any] | None]
NO_SOURCE = "No passage of the corpus contains this answer."


def corpus_documents(db: Database, corpus_id: int | None) -> DocumentLoader | None:
    """Document `index` of a saved corpus (text, page offsets, PDF bytes), read when opened."""
    if corpus_id is None:
        return None
    return lambda index: db.corpus_document(corpus_id, index)


def place(p: dict[str, Any]) -> str:
    page = f", page {p['page']}" if p.get("page") else ""
    return f"{p.get('document')}{page}"


def draw_sources(
    sources: list[dict[str, Any]] | None,
    answer: str | None,
    *,
    key: str,
    documents: DocumentLoader | None = None,
) -> None:
    """The answer's sources, or a plain statement that none holds it (None: not known)."""
    if sources is None or not answer:
        return
    with st.container(key=f"{key}-sources"):
        if not sources:
            st.info(NO_SOURCE, icon=":material/search_off:")
            return
        st.markdown("**Sources**")
        for number, source in enumerate(sources, start=1):
            _draw_source(number, source, answer, key=f"{key}-src{number}", documents=documents)


def _draw_source(
    number: int, source: dict[str, Any], answer: str, *, key: str, documents: DocumentLoader | None
) -> None:
    with st.container(border=True, key=key):
        head, button = st.columns([5, 1], vertical_alignment="center")
        cited = " · cited by the model" if source.get("cited") else ""
        head.markdown(f"**[{number}]** {safe_markdown(place(source))}{cited}")
        text = str(source.get("text") or "")
        head.html(quote_html(text, part_spans(answer, text)))
        opened = button.toggle("Open", key=f"{key}-open", help="Show it in its document")
        if opened:
            _draw_in_place(source, documents)


def document_of(source: dict[str, Any], documents: DocumentLoader) -> dict[str, Any] | None:
    """The source's document: the one at its recorded place in the corpus, or, when that one is
    another (documents before it were removed from the corpus, the rest moved up), the nearest
    one before it with the source's name; None when it is gone."""
    index, name = int(source.get("document_index") or 0), source.get("document")
    for position in range(index, -1, -1):
        document = documents(position)
        if document is not None and document.get("name", name) == name:
            return document
    return None


def _draw_in_place(source: dict[str, Any], documents: DocumentLoader | None) -> None:
    document = document_of(source, documents) if documents else None
    start, end = int(source.get("start") or 0), int(source.get("end") or 0)
    if document is None or document["text"][start:end] != source.get("text"):
        st.caption("The document is not available here; the passage as recorded:")
        st.code(str(source.get("text") or ""), language="text", wrap_lines=True)
        return
    page = source.get("page")
    if document.get("data") and page:
        png, rects = render_pdf_page(document["data"], int(page), str(source["text"]))
        note = "the passage highlighted" if rects else "the passage could not be located"
        st.image(png, caption=f"{place(source)}: {note}")
        return
    st.html(text_excerpt_html(document["text"], start, end))


def draw_passages(passages: list[dict[str, Any]], *, what: str) -> None:
    """One line under a REPL output or a sub-call: the corpus passages it held."""
    if not passages:
        return
    shown = "; ".join(
        f"{place(p)} (characters {p.get('start'):,}–{p.get('end'):,})" for p in passages[:8]
    )
    more = f"; and {len(passages) - 8} more" if len(passages) > 8 else ""
    st.caption(
        f":material/find_in_page: Corpus passages in this {what}: {safe_markdown(shown)}{more}"
    )
