"""webui.runner: a run in its own thread, recorded; what a database outage leaves is said."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from rlm_engine import Credentials, ModelSpec, RunConfig, Session
from rlm_testkit.standin import Reply, StandIn
from storage import Database
from webui.runner import start_run

ROOT = "root-model"


def test_a_recorded_run_is_saved_whole(standin_env: StandIn, tmp_path: Path) -> None:
    standin_env.enqueue("FINAL(saved)", model=ROOT)
    db = Database.open(f"sqlite:///{tmp_path / 'runs.db'}")
    with Session("ctx", Credentials.from_env()) as session:
        handle = start_run(
            session, "Q?", RunConfig(root=ModelSpec("openai", ROOT)), recorder=db.recorder()
        )
        assert handle.wait(60)
    assert handle.warnings == []
    assert db.get_run(handle.result.run_id).answer == "saved"


def test_events_a_locked_database_kept_out_are_a_warning(
    standin_env: StandIn, tmp_path: Path
) -> None:
    db_file = tmp_path / "runs.db"
    holders: list[sqlite3.Connection] = []

    def lock_then_answer(request: object) -> str:
        if not holders:
            holder = sqlite3.connect(db_file, isolation_level=None, check_same_thread=False)
            holder.execute("BEGIN IMMEDIATE")
            holders.append(holder)
        return "FINAL(kept going)"

    standin_env.on(lock_then_answer, model=ROOT)
    db = Database.open(f"sqlite:///{db_file}")
    with Session("ctx", Credentials.from_env()) as session:
        handle = start_run(
            session, "Q?", RunConfig(root=ModelSpec("openai", ROOT)), recorder=db.recorder()
        )
        assert handle.wait(120)
    holders[0].close()
    assert handle.result.answer == "kept going"
    assert any("could not be saved" in warning for warning in handle.warnings)
    # the warning names the real cause, from the database's own error
    assert any("locked by another program" in warning for warning in handle.warnings)


def test_the_handle_keeps_the_reply_streaming_in(standin_env: StandIn) -> None:
    """What the live panel redraws ten times a second without folding the run: the root reply
    so far while the provider holds the rest, and nothing once it is complete."""
    gate = threading.Event()
    reply = "I will read the context first, then answer.\nFINAL(streamed)"
    standin_env.enqueue(Reply(reply, stream_gate=gate, gate_at=16), model=ROOT)
    with Session("ctx", Credentials.from_env()) as session:
        handle = start_run(session, "Q?", RunConfig(root=ModelSpec("openai", ROOT)))
        try:
            waited = 0.0
            while len(handle.streaming()[1] or "") < 16 and waited < 60 and not handle.done:
                time.sleep(0.02)
                waited += 0.02
            assert handle.streaming() == (0, reply[:16])  # the rest has not been sent
        finally:
            gate.set()
        assert handle.wait(60)
    assert handle.result.answer == "streamed"
    assert handle.streaming() == (1, None)  # the reply is an iteration now
