"""Corpora: preview what was extracted from a document, page by page for a PDF (AppTest)."""

from __future__ import annotations

from typing import Any

from rlm_engine.corpus import load_files
from rlm_testkit.pdf import make_pdf
from tests.apptest import open_app


def open_preview(app_db: Any) -> tuple[Any, Any]:
    files = [("report.pdf", make_pdf(["Page one says hello.", "Page two says 7431."])),
             ("notes.txt", b"Plain notes, no pages.")]  # fmt: skip
    corpus = app_db.save_corpus("Mixed", load_files(files).documents)
    at = open_app("pages/corpora.py")
    at.selectbox(key="corpora-open").set_value(corpus.id).run()
    return at, corpus


def test_a_pdf_is_previewed_page_by_page(app_db: Any) -> None:
    at, corpus = open_preview(app_db)
    at.selectbox(key=f"corpora-preview-{corpus.id}").set_value(0).run()
    assert "Page one says hello." in at.code[-1].value
    assert "7431" not in at.code[-1].value
    at.number_input(key=f"corpora-preview-page-{corpus.id}-0").set_value(2).run()
    assert "Page two says 7431." in at.code[-1].value
    assert not at.exception


def test_a_text_file_is_previewed_whole(app_db: Any) -> None:
    at, corpus = open_preview(app_db)
    at.selectbox(key=f"corpora-preview-{corpus.id}").set_value(1).run()
    assert at.code[-1].value == "Plain notes, no pages."
    assert not at.number_input  # a text file has no pages
