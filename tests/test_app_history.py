"""The History page under AppTest, over a real SQLite database in the test's data directory."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import markdown_text, open_app, record_run

JAN_2024 = dt.datetime(2024, 1, 10, 12).timestamp()
JUN_2024 = dt.datetime(2024, 6, 10, 12).timestamp()


def listed(at: AppTest) -> list[str]:
    """The runs offered for review, as their labels, in the order shown."""
    return list(at.selectbox(key="history-open").options)


def test_runs_are_listed_newest_first(app_db: Any) -> None:
    record_run(app_db, "Old question", started=JAN_2024)
    record_run(app_db, "New question", started=JUN_2024)
    labels = listed(open_app("pages/history.py"))
    assert ["New question" in labels[0], "Old question" in labels[1]] == [True, True]


def test_empty_history_says_so(app_db: Any) -> None:
    at = open_app("pages/history.py")
    assert "No saved run" in at.info[0].value
    assert not at.exception


@pytest.mark.parametrize(
    ("widget", "value", "kept"),
    [
        ("history-text", "apples", "About apples"),
        ("history-status", "limit", "About pears"),
        ("history-model", "model-b", "About pears"),
        ("history-dates", (dt.date(2024, 6, 1), dt.date(2024, 6, 30)), "About pears"),
    ],
)
def test_filters_narrow_the_list(app_db: Any, widget: str, value: Any, kept: str) -> None:
    record_run(app_db, "About apples", model="model-a", started=JAN_2024)
    record_run(app_db, "About pears", model="model-b", status="limit", started=JUN_2024)
    at = open_app("pages/history.py")
    at.get_by_key(widget).set_value(value)  # type: ignore[attr-defined]
    labels = listed(at.run())
    assert len(labels) == 1
    assert kept in labels[0]


def test_every_filter_starts_on_a_real_choice(app_db: Any) -> None:
    record_run(app_db, "Anything")
    at = open_app("pages/history.py")
    shown = [at.selectbox(key=f"history-{f}").value for f in ("corpus", "model", "status")]
    assert shown == ["All corpora", "All models", "All statuses"]  # never "Choose an option"


def test_corpus_filter_keeps_that_corpus_runs(app_db: Any) -> None:
    corpus = app_db.save_corpus("Reports", [])
    record_run(app_db, "In the corpus", corpus_id=corpus.id)
    record_run(app_db, "Elsewhere")
    at = open_app("pages/history.py")
    labels = listed(at.selectbox(key="history-corpus").set_value(corpus.id).run())
    assert len(labels) == 1
    assert "In the corpus" in labels[0]


def test_opening_a_run_shows_its_trace_and_answer(app_db: Any) -> None:
    run_id = record_run(app_db, "What is six times seven?", answer="forty-two")
    at = open_app("pages/history.py")
    at = at.selectbox(key="history-open").set_value(run_id).run()
    assert any(e.label.startswith("Iteration 1") for e in at.expander)
    assert "forty-two" in markdown_text(at)
    assert not at.exception


def test_deleting_a_run_removes_it(app_db: Any) -> None:
    run_id = record_run(app_db, "Delete me")
    at = open_app("pages/history.py")
    at = at.selectbox(key="history-open").set_value(run_id).run()
    at.button(key="history-delete").click().run()
    assert app_db.get_run(run_id) is None
    assert "No saved run" in at.info[0].value
