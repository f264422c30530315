"""The SQLite file deleted in the middle of a run: the run is not saved, and that is said (it used
to "complete" with exit 0, nothing saved and no warning). Real files, a real `rlm ask` process,
the real app under AppTest."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from rlm_engine.paths import default_db_url
from rlm_testkit.runs import run_events
from rlm_testkit.standin import StandIn
from storage import Database
from tests.apptest import RUN_TIMEOUT_S, open_app

ROOT = "root-model"


def delete_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def gated(standin: StandIn) -> threading.Event:
    """The root model answers only once the returned event is set."""
    gate = threading.Event()
    standin.on(lambda request: "FINAL(42)" if gate.wait(60) else None, model=ROOT)
    return gate


def wait_for_request(standin: StandIn, count: int = 1) -> None:
    deadline = time.monotonic() + 60
    while len(standin.requests) < count:
        assert time.monotonic() < deadline, "the run never called the model"
        time.sleep(0.05)


def test_a_recorder_says_its_run_was_lost(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    events = run_events("r1")
    with Database.open(f"sqlite:///{path}") as db:
        record = db.recorder()
        for event in events[:3]:
            record(event)
        delete_database(path)
        for event in events[3:]:
            record(event)
        assert record.lost and "was deleted" in record.lost
        assert record.close() == len(events)  # every event is lost, the written ones too
        assert "the run was not saved" in db.unsaved_reason


def test_rlm_ask_says_the_run_was_not_saved(standin_env: StandIn, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("The code is 42.")
    path = tmp_path / "runs.db"
    standin_env.enqueue("```repl\nprint(context)\n```", model=ROOT)  # the database opens here
    gate = gated(standin_env)
    command = [sys.executable, "-m", "rlm_cli", "ask", "Code?", "--context", str(notes)]
    command += ["--provider", "openai", "--model", ROOT, "--db", f"sqlite:///{path}"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_request(standin_env, 2)
        assert path.exists()
        delete_database(path)
        gate.set()
        out, err = proc.communicate(timeout=120)
    finally:
        gate.set()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert out.splitlines()[0] == "42"  # the answer (a sources line may follow)
    assert "was NOT saved" in err and f"the database file {path} was deleted" in err


def test_the_app_says_the_run_was_not_saved(standin_env: StandIn) -> None:
    gate = gated(standin_env)
    at = open_app()
    at.text_input(key="ask-root-model").set_value(ROOT)
    at.run()
    at.file_uploader(key="ask-upload").set_value([("n.txt", b"The code is 42.", "text/plain")])
    at.run()
    at.chat_input(key="ask-question").set_value("Code?").run()
    wait_for_request(standin_env)
    delete_database(Path(default_db_url().removeprefix("sqlite:///")))
    gate.set()
    (handle,) = at.session_state["rlm_workspace"].conversation
    assert handle.wait(RUN_TIMEOUT_S)
    at.run()
    assert any("This run was not saved" in w.value and "deleted" in w.value for w in at.warning)
