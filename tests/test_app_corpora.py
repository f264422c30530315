"""The Corpora page under AppTest, over a real SQLite database."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from rlm_engine.corpus import load_files
from rlm_testkit.pdf import make_pdf
from rlm_testkit.standin import StandIn
from tests.apptest import RUN_TIMEOUT_S, open_app


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


def test_pages_beside_a_text_file_are_one_type_and_never_none(app_db: Any) -> None:
    files = [("report.pdf", make_pdf(["One.", "Two."])), ("notes.txt", b"no pages")]
    at = open_corpus(app_db.save_corpus("Mixed", load_files(files).documents))
    pages = at.dataframe[-1].value["pages"]  # the documents table
    assert list(pages) == ["2", "-"]  # formatted like the summary; a text file's pages: "-"


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
    assert "make one from files above" in at.info[0].value
    assert at.expander[0].label == "New corpus from files"


def test_a_new_corpus_from_files(app_db: Any) -> None:
    at = open_app("pages/corpora.py")
    files = [("a.txt", b"first", "text/plain"), ("b.pdf", make_pdf(["p1"]), "application/pdf")]
    at = at.file_uploader(key="corpora-upload-0").set_value(files).run()
    assert {m.label: m.value for m in at.metric}["Documents"] == "2"
    at.text_input(key="corpora-new-name").set_value("Fresh")
    at = at.button(key="corpora-new-save").click().run()
    (saved,) = app_db.list_corpora()
    assert (saved.name, saved.n_documents) == ("Fresh", 2)
    assert at.selectbox(key="corpora-open").value == saved.id  # opened at once
    assert not at.exception


def test_a_corpus_a_run_is_reading_is_not_deleted(standin_env: StandIn, corpus: Any) -> None:
    gate = threading.Event()
    standin_env.on(lambda request: "FINAL(read)" if gate.wait(60) else None)
    at = open_app()
    for role in ("root", "sub"):
        at.selectbox(key=f"ask-{role}-provider").set_value("openai")
    at.segmented_control(key="ask-source").set_value("Saved corpus").run()
    at.selectbox(key="ask-saved").set_value(corpus.id).run()
    at = at.chat_input(key="ask-question").set_value("Anything?").run()
    at.switch_page("pages/corpora.py").run()
    at = at.selectbox(key="corpora-open").set_value(corpus.id).run()
    assert at.button(key="corpora-delete").disabled
    assert any("Ask page is reading this corpus" in w.value for w in at.warning)
    gate.set()
    (handle,) = at.session_state["rlm_workspace"].conversation
    assert handle.wait(RUN_TIMEOUT_S)
    assert handle.result.status == "completed"  # not stopped by the visit
    assert not at.run().button(key="corpora-delete").disabled
