"""The opt-in sub-call cache: an identical sub-call over the same corpus is answered from the
database at $0 (real SQLite file and PostgreSQL, real sandbox, real HTTP to the stand-in)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlm_engine import Credentials, ModelSpec, RunConfig, Session
from rlm_engine.events import Event, RunFinished, SubCallFinished
from rlm_testkit.standin import StandIn
from storage import Database

ROOT, SUB = "gpt-4.1", "gpt-4.1-mini"  # known prices: a cached call must cost $0, not unknown
CODE = "```repl\nanswer = llm_query('Which day? ' + context[1])\nprint(answer)\n```"
CORPUS = ["alpha " * 100, "The meeting is on Tuesday."]


def config(**overrides: object) -> RunConfig:
    values: dict[str, object] = {
        "root": ModelSpec("openai", ROOT),
        "sub": ModelSpec("openai", SUB),
        "exec_timeout_s": 20.0,
        "sub_call_cache": True,
    }
    values.update(overrides)
    return RunConfig(**values)  # type: ignore[arg-type]


def ask_twice(standin: StandIn, db: Database, cfg: RunConfig, corpora=(CORPUS, CORPUS)):
    """The same question twice, each in a session of its own; the events of each run."""
    standin.on(lambda req: "Tuesday", model=SUB)
    credentials = Credentials(openai_api_key="k", openai_base_url=standin.openai_base_url)
    runs: list[list[Event]] = []
    for corpus in corpora:
        standin.enqueue(CODE, "FINAL_VAR(answer)", model=ROOT)
        events: list[Event] = []
        with Session(corpus, credentials, sub_call_cache=db.sub_call_cache()) as session:
            result = session.run("When is the meeting?", cfg, on_event=events.append)
        assert result.status == "completed" and result.answer == "Tuesday", result.error
        runs.append(events)
    return runs


def sub_calls(events: list[Event]) -> list[SubCallFinished]:
    return [e for e in events if isinstance(e, SubCallFinished)]


@pytest.fixture
def db(db_url: str):
    """A real SQLite file, or a real PostgreSQL database (marked postgres)."""
    database = Database.open(db_url)
    yield database
    database.close()


def asked_sub_model(standin: StandIn) -> int:
    return sum(r.model == SUB for r in standin.requests)


def test_the_second_identical_sub_call_is_answered_from_the_database_at_no_cost(
    standin: StandIn, db: Database
) -> None:
    first, second = ask_twice(standin, db, config())
    assert asked_sub_model(standin) == 1
    (paid,) = sub_calls(first)
    (free,) = sub_calls(second)
    assert not paid.cached and paid.cost_usd and paid.cost_usd > 0
    assert free.cached and free.cost_usd == 0 and free.usage.input_tokens == 0
    assert free.response == paid.response == "Tuesday"
    finished = next(e for e in second if isinstance(e, RunFinished))
    assert finished.sub_calls == 1  # still an llm_query: counted, but not paid for
    assert db.sub_call_cache().count() == 1


def test_without_the_flag_every_sub_call_is_paid(standin: StandIn, db: Database) -> None:
    first, second = ask_twice(standin, db, config(sub_call_cache=False))
    assert asked_sub_model(standin) == 2
    assert not any(e.cached for e in sub_calls(first) + sub_calls(second))
    assert db.sub_call_cache().count() == 0


def test_another_corpus_does_not_share_answers(standin: StandIn, db: Database) -> None:
    other = [CORPUS[0], CORPUS[1], "A third document."]
    ask_twice(standin, db, config(), corpora=(CORPUS, other))
    assert asked_sub_model(standin) == 2


def test_another_sub_model_does_not_share_answers(standin: StandIn, db: Database) -> None:
    ask_twice(standin, db, config())
    standin.on(lambda req: "Tuesday", model="gpt-4.1-nano")
    ask_twice(standin, db, config(sub=ModelSpec("openai", "gpt-4.1-nano")), corpora=(CORPUS,))
    assert sum(r.model == "gpt-4.1-nano" for r in standin.requests) == 1


def test_cli_sub_call_cache_flag(standin_env: StandIn, tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text(CORPUS[0])
    (folder / "b.txt").write_text(CORPUS[1])
    standin_env.on(lambda req: "Tuesday", model=SUB)
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    costs = []
    for _ in range(2):
        standin_env.enqueue(CODE, "FINAL_VAR(answer)", model=ROOT)
        proc = subprocess.run(
            [sys.executable, "-m", "rlm_cli", "ask", "When is the meeting?", "--context",
             str(folder), "--provider", "openai", "--model", ROOT, "--sub-model", SUB,
             "--sub-call-cache", "--db", db_url, "--json"],
            capture_output=True, text=True, timeout=120, env=dict(os.environ),
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
        assert out["answer"] == "Tuesday"
        costs.append(out["cost_usd"])
    assert asked_sub_model(standin_env) == 1
    assert costs[1] < costs[0]
    with Database.open(db_url) as database:
        runs = database.list_runs()
        events = database.run_events(runs[0].run_id)  # newest first: the second run
    finished = [e for e in events if isinstance(e, SubCallFinished)]
    assert finished[0].cached is True and finished[0].cost_usd == 0
