"""The recorder under a passing outage: another connection holds a write lock (SQLite: BEGIN
IMMEDIATE; PostgreSQL: LOCK TABLE ... EXCLUSIVE) while a run is being recorded. Nothing is lost,
nothing is reordered, and the run is not stalled on every event."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from rlm_testkit.runs import run_events
from storage import Database, DatabaseLocked, Recorder
from storage.connect import create_engine


@contextmanager
def write_lock(db_url: str) -> Iterator[None]:
    """Another program holding the database's write lock until the block ends."""
    if db_url.startswith("sqlite"):
        holder = sqlite3.connect(sa.make_url(db_url).database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    import psycopg

    with psycopg.connect(db_url.replace("postgresql+psycopg://", "postgresql://")) as holder:
        holder.execute("LOCK TABLE events IN EXCLUSIVE MODE")  # reads go on, writes wait
        yield
        holder.rollback()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database.open(db_url, lock_timeout_s=0.2)
    yield database
    database.close()


def write_attempts(recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    """Each write the recorder tries from now on: its lock wait in ms (None: the default)."""
    attempts: list[int | None] = []
    write = recorder._write

    def counted(engine: sa.Engine, data: dict) -> None:
        attempts.append(engine.get_execution_options().get("rlm_busy_ms"))
        write(engine, data)

    monkeypatch.setattr(recorder, "_write", counted)
    return attempts


def lock_wait_ms(connection: sa.Connection) -> int:
    if connection.dialect.name == "sqlite":
        return int(connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one())
    shown = connection.exec_driver_sql("SHOW lock_timeout").scalar_one()
    return int(shown.removesuffix("ms"))


def test_a_write_waits_for_a_lock_as_long_as_asked(db_url: str) -> None:
    engine = create_engine(db_url, lock_timeout_s=0.2)
    write = engine.execution_options(rlm_write=True)
    try:
        waits = []
        for options in ({}, {"rlm_busy_ms": 50}, {}):
            with write.execution_options(**options).begin() as connection:
                waits.append(lock_wait_ms(connection))
        assert waits == [200, 50, 200]
    finally:
        engine.dispose()


def test_events_held_back_by_a_lock_are_written_in_order_after_it(
    db: Database, db_url: str
) -> None:
    events = run_events(iterations=2, sub_calls=3)
    recorder = db.recorder()
    recorder.retry_first_s = 0  # every later event tries again (quickly)
    with write_lock(db_url):
        for event in events[:5]:  # run_started among them
            recorder(event)
        assert (recorder.pending, isinstance(recorder.error, DatabaseLocked)) == (5, True)
        assert db.get_run(events[0].run_id) is None  # reading goes on meanwhile
    for event in events[5:8]:
        recorder(event)
    assert (recorder.pending, recorder.error) == (0, None)
    for event in events[8:]:
        recorder(event)
    run = db.get_run(events[0].run_id)
    assert (run.question, run.root_model, run.sub_model, run.status) == (
        "What is the secret number?",
        "gpt-root",
        "gpt-sub",
        "completed",
    )
    assert db.run_events(run.run_id) == events


def test_an_outage_warns_once_and_costs_one_full_wait(
    db: Database, db_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = run_events(iterations=2, sub_calls=10)
    recorder = db.recorder()
    recorder.retry_first_s = 3600  # no quick retry falls due during this test
    attempts = write_attempts(recorder, monkeypatch)
    with caplog.at_level(logging.WARNING, logger="storage"), write_lock(db_url):
        for event in events[:-1]:
            recorder(event)
        warnings = [r.message for r in caplog.records if "Cannot save" in r.message]
        assert (attempts, len(warnings), recorder.pending) == ([None], 1, len(events) - 1)
    recorder(events[-1])  # RunFinished: the backlog is written first, with the usual wait
    assert (recorder.pending, attempts[1:]) == (0, [None] * len(events))
    assert db.run_events(events[0].run_id) == events
    assert [r.message for r in caplog.records if "can be written again" in r.message] != []


def test_quick_tries_while_a_backlog_exists_wait_less(
    db: Database, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = run_events(iterations=1, sub_calls=2, finished=False)
    recorder = db.recorder()
    recorder.retry_first_s = 0
    attempts = write_attempts(recorder, monkeypatch)
    with write_lock(db_url):
        for event in events:
            recorder(event)
    assert attempts[0] is None
    assert set(attempts[1:]) == {50}  # storage.recorder.QUICK_WAIT_MS


def test_a_run_finished_that_cannot_be_written_is_written_on_close(db_url: str) -> None:
    events = run_events(iterations=2, sub_calls=3)
    db = Database.open(db_url, lock_timeout_s=0.2)
    recorder = db.recorder()
    with write_lock(db_url):
        for event in events:
            recorder(event)
        assert (recorder.pending, db.unsaved) == (len(events), len(events))
    assert db.close() == 0
    with Database.open(db_url) as again:
        run = again.get_run(events[0].run_id)
        assert (run.status, run.question) == ("completed", "What is the secret number?")
        assert again.run_events(run.run_id) == events


def test_close_says_how_many_events_were_not_saved(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    events = run_events(iterations=1, sub_calls=1)
    db = Database.open(db_url, lock_timeout_s=0.2)
    recorder = db.recorder()
    recorder(events[0])
    with write_lock(db_url):
        for event in events[1:]:
            recorder(event)
        with caplog.at_level(logging.ERROR, logger="storage"):
            assert db.close() == len(events) - 1
    assert any("could not be saved" in r.message for r in caplog.records)
    with Database.open(db_url) as again:
        assert len(again.run_events(events[0].run_id)) == 1  # what was written stays


def test_an_event_that_can_never_be_stored_is_dropped_not_retried(db: Database) -> None:
    events = run_events(iterations=1, sub_calls=1)
    recorder = db.recorder()
    recorder(events[0])
    bad = {"type": "notice", "run_id": events[0].run_id, "iteration": 1, "message": object()}
    with pytest.raises(Exception, match="not JSON serializable"):
        recorder(bad)
    for event in events[1:]:
        recorder(event)
    assert (recorder.pending, recorder.dropped, recorder.close()) == (0, 1, 1)
    assert db.run_events(events[0].run_id) == events
