"""The Corpora page under AppTest, over a real SQLite database."""

from __future__ import annotations

from typing import Any

import pytest

from rlm_engine.corpus import load_files
from tests.apptest import open_app
from tests.data.make_pdf import make_pdf


@pytest.fixture
def corpus(app_db: Any) -> Any:
    files = [("a.txt", b"first document"), ("b.md", b"# second document")]
    return app_db.save_corpus("Notes", load_files(files).documents)


def open_corpus(corpus: Any) -> Any:
    at = open_app("pages/corpora.py")
    return at.selectbox(key="corpora-open").set_value(corpus.id).run()


def test_a_corpus_shows_its_documents(corpus: Any) -> None:
    at = open_corpus(corpus)
    assert {m.label: m.value for m in at.metric}["Documents"] == "2"
    assert not at.exception


def test_pages_are_numbers_even_beside_a_text_file(app_db: Any) -> None:
    files = [("report.pdf", make_pdf(["One.", "Two."])), ("notes.txt", b"no pages")]
    at = open_corpus(app_db.save_corpus("Mixed", load_files(files).documents))
    pages = at.dataframe[-1].value["pages"]  # the documents table
    assert pages.dtype.kind in "if"  # numbers; a text file's empty cell, not a "" string
    assert pages.iloc[0] == 2


def test_rename(app_db: Any, corpus: Any) -> None:
    at = open_corpus(corpus)
    at.text_input(key="corpora-name").set_value("Meeting notes")
    at.button(key="corpora-rename-ok").click().run()
    assert app_db.get_corpus(corpus.id).name == "Meeting notes"


def test_delete(app_db: Any, corpus: Any) -> None:
    at = open_corpus(corpus)
    at.button(key="corpora-delete").click().run()
    assert app_db.get_corpus(corpus.id) is None


def test_ask_about_it_opens_the_ask_page_on_that_corpus(corpus: Any) -> None:
    at = open_corpus(corpus)
    next(b for b in at.button if b.label == "Ask about it").click().run()
    assert at.session_state["rlm_workspace"].corpus_id == corpus.id
    assert at.title[0].value == "Ask"


def test_no_corpus_yet_says_where_to_start(app_db: Any) -> None:
    at = open_app("pages/corpora.py")
    assert "Upload files on the Ask page" in at.info[0].value
