"""Stars, tags and conversations of runs: stored, filtered on, grouped, and gone with the run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rlm_testkit.runs import record, run_events
from storage import Database, RunFilter


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database.open(db_url)
    yield database
    database.close()


def _run(db: Database, question: str, conversation_id: str | None = None) -> str:
    events = run_events(question=question, iterations=1, sub_calls=0)
    return record(db.recorder(conversation_id=conversation_id), events)


def test_a_star_is_kept_and_filters_the_list(db: Database) -> None:
    plain, starred = _run(db, "plain"), _run(db, "starred")
    assert db.set_starred(starred) is True
    assert [r.run_id for r in db.list_runs(RunFilter(starred=True))] == [starred]
    assert db.get_run(starred).starred and not db.get_run(plain).starred
    db.set_starred(starred, False)
    assert db.list_runs(RunFilter(starred=True)) == []


def test_tags_are_cleaned_listed_and_filter_the_list(db: Database) -> None:
    first, second = _run(db, "first"), _run(db, "second")
    assert db.set_tags(first, ["  good  answer ", "Good answer", "", "q3"]) == ["good answer", "q3"]
    db.set_tags(second, ["q3"])
    assert db.all_tags() == ["q3", "good answer"]  # the most used first
    assert [r.run_id for r in db.list_runs(RunFilter(tag="good answer"))] == [first]
    assert {r.run_id: r.tags for r in db.list_runs()}[first] == ("good answer", "q3")
    assert db.get_run(second).tags == ("q3",)
    db.set_tags(first, [])
    assert db.list_runs(RunFilter(tag="good answer")) == []


def test_deleting_a_run_deletes_its_tags(db: Database) -> None:
    run_id = _run(db, "tagged")
    db.set_tags(run_id, ["keep"])
    db.delete_run(run_id)
    assert db.all_tags() == []


def test_follow_ups_of_a_conversation_are_one_row_when_grouped(db: Database) -> None:
    alone = _run(db, "alone")
    turns = [_run(db, f"turn {n}", conversation_id="conv-1") for n in range(3)]
    grouped = db.list_runs(grouped=True)
    assert [(r.run_id, r.turns) for r in grouped] == [(turns[-1], 3), (alone, 1)]
    assert db.count_runs(grouped=True) == 2 and db.count_runs() == 4
    assert [r.run_id for r in db.conversation_runs("conv-1")] == turns  # oldest first
    assert [r.run_id for r in db.conversation_runs(alone)] == [alone]


def test_grouping_keeps_the_newest_run_that_matches(db: Database) -> None:
    first = _run(db, "about apples", conversation_id="conv-2")
    _run(db, "about pears", conversation_id="conv-2")
    grouped = db.list_runs(RunFilter(text="apples"), grouped=True)
    assert [(r.run_id, r.turns) for r in grouped] == [(first, 1)]
    assert db.count_runs(RunFilter(text="apples"), grouped=True) == 1


def test_the_model_filter_offers_every_root_and_sub_model(db: Database) -> None:
    record(db.recorder(), run_events(root_model="model-b", iterations=1, sub_calls=0))
    record(db.recorder(), run_events(root_model="model-a", iterations=1, sub_calls=0))
    assert db.run_models() == ["gpt-sub", "model-a", "model-b"]  # gpt-sub: their sub model
