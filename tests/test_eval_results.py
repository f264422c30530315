"""Evaluation storage (SQLite and PostgreSQL) and the figures drawn from it: Wilson intervals,
percentiles, the Pareto front, disagreements, two evaluations compared, CSV export."""

from __future__ import annotations

import csv
import io

import pytest

from rlm_eval.results import (
    compare,
    disagreements,
    pareto,
    percentile,
    summarise,
    to_csv,
    to_json,
    wilson,
)
from storage import Database
from storage.evals import EVALS
from storage.liveness import writer_token

QUESTIONS = [
    {"id": "a", "question": "A?", "expected": 1, "grader": "number"},
    {"id": "b", "question": "B?", "expected": "x", "grader": "exact"},
]
CONFIGS = [{"name": "one", "settings": {"model": "m"}}, {"name": "two", "settings": {}}]


@pytest.mark.parametrize(
    ("correct", "total", "low", "high"),
    [(5, 5, 0.5655, 1.0), (0, 5, 0.0, 0.4345), (50, 100, 0.4038, 0.5962), (1, 10, 0.0179, 0.4042)],
)
def test_wilson_interval(correct: int, total: int, low: float, high: float) -> None:
    lo, hi = wilson(correct, total)
    assert lo == pytest.approx(low, abs=1e-4) and hi == pytest.approx(high, abs=1e-4)


def test_wilson_and_percentile_of_nothing() -> None:
    assert wilson(0, 0) == (0.0, 0.0)
    assert percentile([], 0.9) is None
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9) == pytest.approx(9.1)


def test_pareto_front() -> None:
    points = [("cheap", 0.01, 0.5), ("dear", 1.0, 0.9), ("worse", 0.5, 0.4), ("tie", 0.01, 0.5)]
    assert pareto(points) == ["cheap", "dear", "tie"]
    assert pareto([("same", 0.1, 0.8), ("better", 0.1, 0.9)]) == ["better"]


def cell(question: str, config: str, passed: bool, **extra: object) -> dict:
    values = dict(
        question_id=question, config_name=config, repeat=0, run_id=None, status="completed",
        answer="ans", error=None, passed=passed, score=float(passed), grade={}, iterations=1,
        sub_calls=2, input_tokens=10, output_tokens=5, cost_usd=0.01, elapsed_s=1.0,
        finished_at=0.0,
    )  # fmt: skip
    values.update(extra)
    return values


def test_store_round_trip_and_figures(db_url: str) -> None:
    with Database.open(db_url) as db:
        set_id = db.evals.save_set("s", QUESTIONS)
        eval_id = db.evals.create(name="s", questions=QUESTIONS, configs=CONFIGS, corpus_id=None,
                                  set_id=set_id, repeat=1)  # fmt: skip
        db.evals.add_cell(eval_id, **cell("a", "one", False))
        db.evals.add_cell(eval_id, **cell("a", "one", True, elapsed_s=3.0))  # a retry replaces
        db.evals.add_cell(eval_id, **cell("b", "one", True, cost_usd=None, grade={"cost_usd": 0.5}))
        db.evals.add_cell(eval_id, **cell("a", "two", False, status="failed", error="boom"))
        (listed,) = db.evals.list()
        assert (listed.n_cells, listed.total_cells, listed.status) == (3, 4, "running")
        info = db.evals.get(eval_id)
        db.evals.finish(eval_id, "stopped", 2.5)
        db.evals.finish(eval_id, "completed", 1.5)
        assert db.evals.get(eval_id).elapsed_s == pytest.approx(4.0)  # sittings add up
        assert db.evals.get_set(set_id).questions == QUESTIONS
    one, two = summarise(info)
    assert (one.correct, one.total, one.failed) == (2, 2, 0)
    assert one.cost_usd is None  # one price unknown: never a made-up mean
    assert one.judge_cost_usd == 0.5 and one.median_elapsed_s == 2.0
    assert (two.correct, two.total, two.failed, two.cost_usd) == (0, 1, 1, 0.01)
    assert disagreements(info) == ["a"]
    out = to_json(info)
    assert out["questions"][1]["results"]["two"] == {
        "run_id": None, "answer": None, "passed": None, "score": None
    }  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(to_csv(info))))
    assert [(r["question_id"], r["config"], r["passed"]) for r in rows] == [
        ("a", "one", "True"), ("b", "one", "True"), ("a", "two", "False"),
    ]  # fmt: skip


def test_a_dead_writer_reads_as_interrupted(db_url: str) -> None:
    with Database.open(db_url) as db:
        eval_id = db.evals.create(name="s", questions=QUESTIONS, configs=CONFIGS, corpus_id=None)
        assert db.evals.get(eval_id).status == "running"  # we are its writer, alive
        host, boot, pidns, _pid, start = writer_token().split("|")
        dead = "|".join([host, boot, pidns, "999999999", start])  # this host, no such process
        with db._write() as connection:
            connection.execute(EVALS.update().values(writer=dead))
        assert db.evals.get(eval_id).status == "interrupted"
        assert [e.status for e in db.evals.list()] == ["interrupted"]


def test_compare_two_evaluations(db_url: str) -> None:
    with Database.open(db_url) as db:
        first = db.evals.create(name="s", questions=QUESTIONS, configs=CONFIGS, corpus_id=None)
        second = db.evals.create(name="s", questions=QUESTIONS, configs=CONFIGS, corpus_id=None)
        for eval_id, verdicts in ((first, (True, False, True)), (second, (False, True, True))):
            for (q, c), passed in zip(
                [("a", "one"), ("b", "one"), ("a", "two")], verdicts, strict=True
            ):
                db.evals.add_cell(eval_id, **cell(q, c, passed))
        diff = compare(db.evals.get(first), db.evals.get(second))
    assert diff == {
        "improved": [("b", "one")], "regressed": [("a", "one")], "same": [("a", "two")]
    }  # fmt: skip
