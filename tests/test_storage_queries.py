"""Queries: the run list with filters and pages, totals per model, corpora, comparisons, export."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from rlm_testkit.runs import record, run_events
from storage import Database, ExportFormatError, RunFilter, StorageError


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database.open(db_url)
    yield database
    database.close()


@dataclass
class Doc:
    """Shaped like rlm_engine.corpus.Document."""

    name: str
    text: str
    kind: str = "text"
    sha256: str = ""
    page_offsets: tuple[int, ...] = (0,)
    n_pages: int = 1


def _record_runs(db: Database, n: int, **kwargs: object) -> list[str]:
    return [
        record(db.recorder(), run_events(f"run{i:03d}", sub_calls=1, **kwargs)) for i in range(n)
    ]


def test_runs_are_listed_newest_first(db: Database) -> None:
    ids = _record_runs(db, 3)
    assert [r.run_id for r in db.list_runs()] == ids[::-1]


def test_pages_cover_every_run_once(db: Database) -> None:
    ids = _record_runs(db, 7)
    pages = [db.list_runs(limit=3, offset=o) for o in (0, 3, 6)]
    assert [r.run_id for page in pages for r in page] == ids[::-1]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"status": "failed"}, ["b"]),
        ({"model": "claude"}, ["b"]),
        ({"model": "gpt-sub"}, ["a", "b", "c"]),
        ({"text": "PENGUIN"}, ["c"]),
        ({"text": "answer-a"}, ["a"]),
        ({"text": "100%"}, []),
    ],
)
def test_runs_are_filtered(db: Database, filters: dict, expected: list[str]) -> None:
    record(db.recorder(), run_events("a", question="Where is the cat?", answer="answer-a"))
    record(db.recorder(), run_events("b", status="failed", root_model="claude", answer="answer-b"))
    record(db.recorder(), run_events("c", question="How many penguins?", answer="answer-c"))
    assert sorted(r.run_id for r in db.list_runs(RunFilter(**filters))) == expected
    assert db.count_runs(RunFilter(**filters)) == len(expected)


def test_runs_are_filtered_by_corpus(db: Database) -> None:
    corpus = db.save_corpus("papers", [Doc("a.txt", "alpha")])
    record(db.recorder(corpus_id=corpus.id), run_events("in"))
    record(db.recorder(), run_events("out"))
    assert [(r.run_id, r.corpus_name) for r in db.list_runs(RunFilter(corpus_id=corpus.id))] == [
        ("in", "papers")
    ]


def test_runs_are_filtered_by_start_time(db: Database) -> None:
    events = run_events("late")
    record(db.recorder(), events)
    started = events[0].time
    assert [
        len(db.list_runs(RunFilter(since=started))),
        len(db.list_runs(RunFilter(until=started))),
    ] == [1, 0]


def test_totals_per_model_add_root_and_sub_calls(db: Database) -> None:
    _record_runs(db, 2)
    totals = {t.model: t for t in db.totals_by_model()}
    assert (totals["gpt-root"].calls, totals["gpt-root"].runs, totals["gpt-sub"].calls) == (4, 2, 4)
    assert totals["gpt-root"].cost_usd == pytest.approx(0.04)


def test_a_deleted_run_is_gone_with_its_trace(db: Database) -> None:
    (run_id,) = _record_runs(db, 1)
    assert db.delete_run(run_id)
    assert (db.get_run(run_id), db.run_events(run_id), db.totals_by_model()) == (None, [], [])


def test_corpus_keeps_documents_in_upload_order(db: Database) -> None:
    corpus = db.save_corpus("c", [Doc("b.txt", "bee"), {"name": "a.pdf", "text": "ay\fpage2"}])
    assert [d.name for d in db.get_corpus(corpus.id).documents] == ["b.txt", "a.pdf"]
    assert db.corpus_context(corpus.id) == ["bee", "ay\fpage2"]


def test_same_document_uploaded_twice_is_stored_once(db: Database) -> None:
    first = db.save_corpus("one", [Doc("a.txt", "same text", sha256="ab" * 32)])
    second = db.save_corpus("two", [Doc("copy.txt", "same text", sha256="ab" * 32)])
    assert first.documents[0].id == second.documents[0].id
    assert [d.name for d in second.documents] == ["copy.txt"]


def test_a_text_already_stored_is_not_sent_to_the_database_again(db: Database) -> None:
    """Saving a corpus again (a second `rlm ask` over the same files) must not bind the texts:
    the database would copy each one whole, to do nothing with it."""
    text = "a large document " * 1000
    db.save_corpus("one", [Doc("a.txt", text)])
    bound: list[object] = []

    def seen(_conn: object, _cursor: object, _sql: str, params: object, *_: object) -> None:
        bound.append(params)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", seen)
    try:
        again = db.save_corpus("two", [Doc("copy.txt", text)])
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", seen)
    assert db.corpus_context(again.id) == [text]
    assert bound and not any(text in repr(params) for params in bound)


def test_adding_a_document_already_in_the_corpus_is_a_no_op(db: Database) -> None:
    corpus = db.save_corpus("c", [Doc("a.txt", "text")])
    assert db.add_documents(corpus.id, [Doc("a.txt", "text")]).n_documents == 1


def test_deleting_a_corpus_keeps_its_runs_and_shared_documents(db: Database) -> None:
    kept = db.save_corpus("kept", [Doc("a.txt", "shared")])
    gone = db.save_corpus("gone", [Doc("a.txt", "shared"), Doc("b.txt", "own")])
    record(db.recorder(corpus_id=gone.id), run_events("r"))
    db.delete_corpus(gone.id)
    assert [c.name for c in db.list_corpora()] == ["kept"]
    assert db.get_run("r").corpus_id is None
    assert db.corpus_context(kept.id) == ["shared"]


def test_rename_corpus(db: Database) -> None:
    corpus = db.save_corpus("old", [])
    db.rename_corpus(corpus.id, "new")
    assert db.get_corpus(corpus.id).name == "new"


def test_a_corpus_needs_a_name(db: Database) -> None:
    with pytest.raises(StorageError, match="needs a name"):
        db.save_corpus("  ", [])


def test_comparison_groups_runs_of_one_question(db: Database) -> None:
    comparison_id = db.create_comparison("q?", None, ["small", "large"])
    for label in ("small", "large"):
        record(db.recorder(comparison_id=comparison_id, label=label), run_events(label))
    record(db.recorder(), run_events("elsewhere"))
    comparison = db.get_comparison(comparison_id)
    assert [(r.run_id, r.label) for r in comparison.runs] == [
        ("small", "small"),
        ("large", "large"),
    ]
    assert [c.labels for c in db.list_comparisons()] == [("small", "large")]


def test_export_is_json_and_imports_into_another_database(db: Database, tmp_path) -> None:
    events = run_events("exported", sub_calls=4)
    record(db.recorder(), events)
    exported = json.loads(json.dumps(db.export_run("exported")))
    other = Database.open(f"sqlite:///{tmp_path / 'other.db'}")
    other.import_run(exported)
    assert other.run_events("exported") == events
    assert other.get_run("exported") == db.get_run("exported")
    other.close()


def test_export_names_its_format_and_version(db: Database) -> None:
    record(db.recorder(), run_events("r"))
    exported = db.export_run("r")
    assert (exported["format"], exported["version"]) == ("rlm-workbench.run", 1)


def test_export_from_a_newer_version_is_refused(db: Database) -> None:
    record(db.recorder(), run_events("r"))
    exported = {**db.export_run("r"), "version": 99}
    db.delete_run("r")
    with pytest.raises(ExportFormatError, match="Upgrade rlm-workbench"):
        db.import_run(exported)


@pytest.mark.parametrize("version", [0, -1, True, False, "1", 1.0, None])
def test_export_without_a_valid_version_is_refused(db: Database, version: object) -> None:
    record(db.recorder(), run_events("r"))
    exported = {**db.export_run("r"), "version": version}
    db.delete_run("r")
    with pytest.raises(ExportFormatError, match="no valid format version"):
        db.import_run(exported)
    assert db.get_run("r") is None


def _exported_with_corpus(db: Database, texts: list[str]) -> dict:
    corpus = db.save_corpus("original", [Doc(f"d{i}.txt", text) for i, text in enumerate(texts)])
    record(db.recorder(corpus_id=corpus.id), run_events("moved"))
    exported = json.loads(json.dumps(db.export_run("moved")))
    db.delete_run("moved")
    return exported


def test_import_joins_the_corpus_holding_the_same_documents(db: Database) -> None:
    exported = _exported_with_corpus(db, ["alpha", "beta"])
    db.save_corpus("same texts, other order", [Doc("b", "beta"), Doc("a", "alpha")])
    db.save_corpus("a subset", [Doc("a", "alpha")])
    here = db.save_corpus("the same again", [Doc("x.txt", "alpha"), Doc("y.txt", "beta")])
    db.delete_corpus(db.list_corpora()[-1].id)  # the original: gone, as in another database
    assert db.get_run(db.import_run(exported)).corpus_id == here.id


def test_import_joins_no_corpus_when_two_hold_the_documents(db: Database) -> None:
    exported = _exported_with_corpus(db, ["alpha", "beta"])
    db.save_corpus("twin", [Doc("x.txt", "alpha"), Doc("y.txt", "beta")])
    assert db.get_run(db.import_run(exported)).corpus_id is None


def test_import_joins_no_corpus_when_a_document_is_missing(db: Database) -> None:
    exported = _exported_with_corpus(db, ["alpha", "beta"])
    for corpus in db.list_corpora():
        db.delete_corpus(corpus.id)
    db.save_corpus("half", [Doc("x.txt", "alpha")])
    assert db.get_run(db.import_run(exported)).corpus_id is None


def test_unknown_run_is_none(db: Database) -> None:
    assert (db.get_run("nope"), db.export_run("nope"), db.run_events("nope")) == (None, None, [])
