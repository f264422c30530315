"""Recording engine events: round trips, order, totals, secrets, child RLMs, on both engines."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rlm_engine.events import (
    Notice,
    SubCallFinished,
    Usage,
)
from rlm_engine.trace import fold
from rlm_testkit.runs import (
    CONFIG,
    call_finished,
    call_started,
    code,
    finished,
    record,
    root,
    run_events,
    started,
    stored_calls,
)
from storage import Database


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database.open(db_url)
    yield database
    database.close()


def test_run_with_hundreds_of_sub_calls_round_trips(db: Database) -> None:
    events = run_events(iterations=3, sub_calls=150)
    run_id = record(db.recorder(), events)
    assert db.run_events(run_id) == events


def test_sub_calls_are_stored_in_order_with_their_results(db: Database) -> None:
    events = run_events(iterations=2, sub_calls=150)
    run = db.get_run(record(db.recorder(), events))
    expected = [(e.call_id, e.response) for e in events if isinstance(e, SubCallFinished)]
    assert [(s.call_id, s.response) for s in stored_calls(db, run.run_id)] == expected


def test_finished_run_has_the_engines_totals(db: Database) -> None:
    events = run_events(iterations=2, sub_calls=5)
    run = db.get_run(record(db.recorder(), events))
    final = events[-1]
    assert (run.status, run.answer, run.iterations, run.sub_calls) == ("completed", "42", 2, 10)
    assert (run.input_tokens, run.output_tokens) == (final.input_tokens, final.output_tokens)
    assert run.cost_usd == pytest.approx(final.cost_usd)


def test_running_totals_grow_before_the_run_finishes(db: Database) -> None:
    events = run_events(iterations=2, sub_calls=5, finished=False)
    run = db.get_run(record(db.recorder(), events))
    tokens = sum(e.usage.input_tokens for e in events if hasattr(e, "usage"))
    assert (run.status, run.iterations, run.sub_calls, run.input_tokens) == (
        "running",
        2,
        10,
        tokens,
    )


def test_iterations_and_code_blocks_keep_reply_output_and_timing(db: Database) -> None:
    events = run_events(iterations=3, sub_calls=1)
    trace = fold(db.run_events(record(db.recorder(), events)))
    assert [(i.number, i.text[:11]) for i in trace.iterations] == [
        (1, "Iteration 1"),
        (2, "Iteration 2"),
        (3, "Iteration 3"),
    ]
    block = trace.iterations[0].blocks[0]
    assert (block.output, block.elapsed_s) == ("['answer 1.0', ...]", 0.3)


def test_unknown_price_makes_the_run_cost_unknown(db: Database) -> None:
    started, *_ = run_events(finished=False)
    recorder = db.recorder()
    recorder(started)
    for cost in (0.5, None, 0.5):
        recorder(root(1, "", run_id=started.run_id, cost_usd=cost))
    assert db.get_run(started.run_id).cost_usd is None


@pytest.mark.parametrize("key", ["api_key", "openai_api_key", "token", "password", "secret"])
def test_secret_looking_keys_are_never_stored(db: Database, key: str) -> None:
    config = {"root": {"provider": "openai", "model": "m", key: "sk-SECRET"}, key: "sk-SECRET"}
    db.recorder()(started(run_id="r", config=config))
    assert "sk-SECRET" not in repr(db.get_run("r")) + repr(db.run_events("r"))


def test_credentials_in_a_base_url_are_never_stored(db: Database) -> None:
    config = {"root": {"provider": "openai", "model": "m", "base_url": "https://u:sk-SECRET@h/v1"}}
    db.recorder()(started(run_id="r", config=config))
    assert db.get_run("r").config["root"]["base_url"] == "https://[redacted]@h/v1"


LEAKY = "401 from https://user:pass@host/v1?api_key=zzz: key sk-proj-abcdefghijklmnop1234"


def test_secrets_in_errors_and_notices_are_never_stored(db: Database) -> None:
    ids = {"run_id": "r"}
    events = [
        started(**ids),
        call_started("c", **ids),
        call_finished("c", **ids, error=LEAKY),
        Notice(**ids, iteration=1, message=f"retrying: {LEAKY}"),
        code(1, "", **ids, error=LEAKY),
        finished(**ids, status="failed", answer=None, error=LEAKY, iterations=1, sub_calls=1),
    ]
    record(db.recorder(), events)
    run = db.get_run("r")
    stored = repr(run) + repr(db.run_events("r")) + repr(db.export_run("r"))
    assert [s for s in ("pass@", "zzz", "sk-proj") if s in stored] == []
    assert run.error == "401 from https://[redacted]@host/v1?api_key=[redacted]: key [redacted]"


def test_prompts_and_responses_are_kept_as_written(db: Database) -> None:
    text = "call https://user:pass@host with sk-proj-abcdefghijklmnop1234"
    events = [
        started(run_id="r", question=text),
        call_started("c", run_id="r", prompt=text),
        call_finished("c", run_id="r", response=text),
    ]
    run = db.get_run(record(db.recorder(), events))
    call = stored_calls(db, run.run_id)[0]
    assert (run.question, call.prompt, call.response) == (text, text, text)


def test_dict_events_are_accepted(db: Database) -> None:
    run_id = record(db.recorder(), [e.to_dict() for e in run_events(sub_calls=2)])
    assert db.get_run(run_id).status == "completed"


def test_child_rlm_events_join_the_parent_run(db: Database) -> None:
    ids = {"run_id": "r"}
    child = {**ids, "depth": 1, "parent_call_id": "c1"}
    spent = {"usage": Usage(50, 5), "cost_usd": 0.002, "elapsed_s": 0.1}
    events = [
        started(**ids, config=CONFIG),
        call_started("c1", **ids, kind="rlm", model="sub", prompt="dig"),
        started(**child, question="dig"),
        root(1, "FINAL(7)", **child, model="sub", **spent),
        finished(**child, answer="7", iterations=1, input_tokens=50, output_tokens=5),
        call_finished("c1", **ids, response="7", **spent),
    ]
    record(db.recorder(), events)
    run = db.get_run("r")
    assert (run.status, run.sub_calls, run.input_tokens, len(db.run_events("r"))) == (
        "running",
        1,
        50,
        6,
    )


def test_events_after_a_restart_continue_the_sequence(db_url: str) -> None:
    events = run_events(sub_calls=2)
    first = Database.open(db_url)
    record(first.recorder(), events[:4])
    first.close()
    second = Database.open(db_url)
    record(second.recorder(), events[4:])
    assert second.run_events(events[0].run_id) == events
    second.close()
