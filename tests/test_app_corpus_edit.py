"""Adding documents to a saved corpus and removing them, on the Corpora page (AppTest)."""

from __future__ import annotations

from typing import Any

import pytest

from rlm_engine.corpus import load_files
from rlm_engine.events import FinalAnswer, RunFinished, RunStarted, SourcesFound
from tests.apptest import open_app


@pytest.fixture
def corpus(app_db: Any) -> Any:
    files = [("a.txt", b"first document"), ("b.md", b"# second document")]
    return app_db.save_corpus("Notes", load_files(files).documents)


def open_corpus(corpus: Any) -> Any:
    at = open_app("pages/corpora.py")
    return at.selectbox(key="corpora-open").set_value(corpus.id).run()


def test_files_are_added_at_the_end(app_db: Any, corpus: Any) -> None:
    at = open_corpus(corpus)
    files = [("c.txt", b"third document", "text/plain"), ("a.txt", b"first document", "text/plain")]
    at.file_uploader(key=f"corpora-add-{corpus.id}-0").set_value(files).run()
    at.button(key=f"corpora-add-go-{corpus.id}").click().run()
    saved = app_db.get_corpus(corpus.id)
    assert [d.name for d in saved.documents] == ["a.txt", "b.md", "c.txt"]  # a.txt: already in
    assert app_db.corpus_context(corpus.id)[-1] == "third document"
    assert {m.label: m.value for m in at.metric}["Documents"] == "3"
    assert not at.exception


def test_documents_are_removed_and_the_rest_keep_their_order(app_db: Any, corpus: Any) -> None:
    app_db.add_documents(corpus.id, load_files([("c.txt", b"third document")]).documents)
    at = open_corpus(app_db.get_corpus(corpus.id))
    first = app_db.get_corpus(corpus.id).documents[0]
    at.multiselect(key=f"corpora-remove-{corpus.id}").set_value([first.position]).run()
    at.button(key=f"corpora-remove-go-{corpus.id}").click().run()
    assert [d.name for d in app_db.get_corpus(corpus.id).documents] == ["b.md", "c.txt"]
    assert app_db.corpus_context(corpus.id) == ["# second document", "third document"]
    assert {m.label: m.value for m in at.metric}["Documents"] == "2"


def test_a_text_no_corpus_holds_any_more_is_deleted(app_db: Any, corpus: Any) -> None:
    first = app_db.get_corpus(corpus.id).documents[0]
    app_db.remove_documents(corpus.id, [first.position])
    assert app_db.document_text(first.id) is None


def test_the_ask_conversation_over_the_corpus_starts_again(app_db: Any, corpus: Any) -> None:
    at = open_corpus(corpus)
    ws = at.session_state["rlm_workspace"]
    ws.use_corpus(None, corpus_id=corpus.id, name="Notes")
    ws.earlier = ["a saved turn"]  # a resumed conversation over this corpus
    first = corpus.documents[0]
    at.multiselect(key=f"corpora-remove-{corpus.id}").set_value([first.position]).run()
    at.button(key=f"corpora-remove-go-{corpus.id}").click().run()
    assert at.session_state["rlm_workspace"].earlier == []


def test_a_source_still_opens_its_document_after_one_before_it_is_removed(
    app_db: Any, corpus: Any
) -> None:
    run_id = "r-sources"
    source = {"document": "b.md", "document_index": 1, "page": None, "start": 2, "end": 8,
              "text": "second"}  # fmt: skip
    record = app_db.recorder(corpus_id=corpus.id)
    for event in (
        RunStarted(run_id=run_id, time=1.0, question="Which one?", config={}, context_meta={}),
        FinalAnswer(run_id=run_id, time=2.0, answer="second", source="text"),
        SourcesFound(run_id=run_id, time=2.0, answer="second", sources=[source]),
        RunFinished(run_id=run_id, time=2.0, status="completed", answer="second", error=None,
                    iterations=0, sub_calls=0, input_tokens=0, output_tokens=0, cost_usd=0.0,
                    elapsed_s=1.0),
    ):  # fmt: skip
        record(event)
    record.close()
    app_db.remove_documents(corpus.id, [corpus.documents[0].position])  # b.md moves up
    at = open_app("pages/history.py").selectbox(key="history-open").set_value(run_id).run()
    at = at.toggle(key=f"history-{run_id}-src1-open").set_value(True).run()
    assert not [c for c in at.caption if "not available" in c.value]
    assert any("<mark>second</mark>" in h.proto.body for h in at.get("html"))  # its excerpt
