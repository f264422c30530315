"""Real processes and threads: a recorder killed mid-run, and several writers at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from rlm_engine.events import event_from_dict
from rlm_testkit.runs import record, run_events, stored_calls
from storage import Database

ROOT = Path(__file__).resolve().parents[1]

# Records a long run event by event, printing each event after its transaction committed.
RECORDING_CHILD = """
import json, sys
from rlm_engine.events import event_from_dict
from storage import Database
from rlm_testkit.runs import run_events
db = Database.open(sys.argv[1])
recorder = db.recorder()
for event in run_events(sys.argv[2], iterations=20, sub_calls=100, finished=False):
    recorder(event)
    print(json.dumps(event.to_dict()), flush=True)
"""

# Records whole runs, as another app process would.
WRITER_CHILD = """
import sys
from rlm_engine.events import event_from_dict
from storage import Database
from rlm_testkit.runs import record, run_events
db = Database.open(sys.argv[1], lock_timeout_s=30)
for i in range(int(sys.argv[3])):
    record(db.recorder(), run_events(f"{sys.argv[2]}-{i}", iterations=2, sub_calls=25))
"""


def _child(code: str, *args: str, **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        text=True,
        **kwargs,  # type: ignore[arg-type]
    )


def _kill_mid_run(db_url: str, after: int) -> list[dict]:
    """Start the recording child, SIGKILL it once `after` events are reported, return those."""
    child = _child(RECORDING_CHILD, db_url, "victim", stdout=subprocess.PIPE)
    assert child.stdout is not None
    reported = [event_from_dict(json.loads(child.stdout.readline())) for _ in range(after)]
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    return reported


def test_killed_recorder_keeps_every_event_it_had_written(db_url: str) -> None:
    reported = _kill_mid_run(db_url, after=150)
    with Database.open(db_url) as db:
        stored = db.run_events("victim")
    assert stored[: len(reported)] == reported
    # the child may be a few events ahead of what we read from its pipe when the kill lands
    assert len(stored) >= len(reported)


def test_killed_recorders_run_is_marked_interrupted_on_next_open(db_url: str) -> None:
    _kill_mid_run(db_url, after=50)
    with Database.open(db_url) as db:
        run = db.get_run("victim")
    assert (run.status, run.finished_at is not None, run.sub_calls > 0) == (
        "interrupted",
        True,
        True,
    )


def test_runs_of_a_live_writer_are_not_marked_interrupted(db_url: str) -> None:
    writer = Database.open(db_url)
    record(writer.recorder(), run_events("live", finished=False))
    with Database.open(db_url) as other:
        assert other.get_run("live").status == "running"
    writer.close()


def test_threads_record_runs_at_once(db_url: str) -> None:
    with Database.open(db_url) as db:
        runs = [run_events(f"t{i}", iterations=2, sub_calls=20) for i in range(6)]
        threads = [threading.Thread(target=record, args=(db.recorder(), e)) for e in runs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stored = {r.run_id: (r.status, r.sub_calls) for r in db.list_runs()}
    assert stored == {f"t{i}": ("completed", 40) for i in range(6)}


def test_threads_share_one_recorder_for_one_run(db_url: str) -> None:
    started, *rest = run_events("batched", iterations=1, sub_calls=60, finished=False)
    calls = [e for e in rest if e.type.startswith("sub_call")]
    with Database.open(db_url) as db:
        recorder = db.recorder()
        recorder(started)
        pairs = [calls[i : i + 2] for i in range(0, len(calls), 2)]
        threads = [threading.Thread(target=record, args=(recorder, pair)) for pair in pairs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        run = db.get_run("batched")
        calls = stored_calls(db, "batched")
    assert (run.sub_calls, {(c.done, c.error) for c in calls}) == (60, {(True, None)})


@pytest.mark.timeout(120)
def test_processes_record_runs_at_once_into_a_new_database(db_url: str) -> None:
    children = [_child(WRITER_CHILD, db_url, f"p{i}", "5") for i in range(4)]
    assert [child.wait(timeout=100) for child in children] == [0, 0, 0, 0]
    with Database.open(db_url) as db:
        statuses = [r.status for r in db.list_runs(limit=100)]
    assert statuses == ["completed"] * 20
