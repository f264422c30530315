"""Lone surrogates are valid Python text but not UTF-8: none may fail a run, its storage or the
CLI's output (real sandbox, the stand-in over HTTP, the real CLI process, a real SQLite file)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from rlm_engine import Credentials, ModelSpec, RunConfig, run
from rlm_engine.trace import fold
from rlm_testkit.runs import record, run_events
from rlm_testkit.standin import Reply, StandIn
from storage import Database

ROOT, SUB = "root-model", "sub-model"
PRINT_SURROGATE = "```repl\nimport json\nprint(json.loads('\"\\\\ud83d\"'), 'end')\n```"
FINAL_SURROGATE = "```repl\nFINAL('x\\ud800y')\n```"


def rlm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rlm_cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )


def ask(corpus: Path, db: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return rlm(
        "ask", "Q?", "--context", str(corpus), "--provider", "openai", "--model", ROOT,
        "--sub-model", SUB, "--db", f"sqlite:///{db}", *extra,
    )  # fmt: skip


def corpus_file(tmp_path: Path) -> Path:
    path = tmp_path / "a.txt"
    path.write_text("hello")
    return path


def test_printed_surrogate_and_surrogate_final_complete_with_json(
    standin_env: StandIn, tmp_path: Path
) -> None:
    standin_env.enqueue(PRINT_SURROGATE, FINAL_SURROGATE, model=ROOT)
    db = tmp_path / "runs.db"
    proc = ask(corpus_file(tmp_path), db, "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["status"], out["answer"]) == ("completed", "x\ufffdy")
    assert "could not be saved" not in proc.stderr
    # the output reached the provider as valid text: U+FFFD where the surrogate was
    assert "\ufffd end" in standin_env.requests[1].messages[-1]["content"]
    with sqlite3.connect(db) as conn:  # every event was stored, the run is whole
        status, answer = conn.execute(
            "SELECT status, answer FROM runs WHERE id = ?", (out["run_id"],)
        ).fetchone()
    assert (status, answer) == ("completed", "x\ufffdy")
    with Database.open(f"sqlite:///{db}") as database:
        outputs = [getattr(e, "output", None) for e in database.run_events(out["run_id"])]
    assert any(o and "\ufffd end" in o for o in outputs)


def test_text_output_and_sub_calls_take_surrogates(standin_env: StandIn, tmp_path: Path) -> None:
    standin_env.on(lambda req: Reply(text="sub saw " + req.prompt), model=SUB)
    standin_env.enqueue(
        "```repl\nanswer = llm_query('a\\udc80b')\nprint(answer)\n```",
        "```repl\nFINAL(answer + '\\ud800')\n```",
        model=ROOT,
    )
    proc = ask(corpus_file(tmp_path), tmp_path / "runs.db")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "sub saw a\ufffdb\ufffd"  # the answer; sources follow
    assert [r.prompt for r in standin_env.requests if r.model == SUB] == ["a\ufffdb"]


def test_a_question_with_a_surrogate_from_argv_is_saved(
    standin_env: StandIn, tmp_path: Path
) -> None:
    """argv holds undecodable bytes as surrogates (surrogateescape)."""
    standin_env.enqueue("FINAL(ok)", model=ROOT)
    db = tmp_path / "runs.db"
    proc = subprocess.run(
        [sys.executable, "-m", "rlm_cli", "ask", b"Q\xff?", "--context",
         str(corpus_file(tmp_path)), "--provider", "openai", "--model", ROOT,
         "--db", f"sqlite:///{db}", "--json"],
        capture_output=True, timeout=120, env=dict(os.environ),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["status"] == "completed"
    assert b"could not be saved" not in proc.stderr
    with sqlite3.connect(db) as conn:
        (question,) = conn.execute("SELECT question FROM runs").fetchone()
    assert question == "Q\ufffd?"


def test_events_with_surrogates_are_stored_whole(standin: StandIn, db_url: str) -> None:
    """SQLite and PostgreSQL both refuse lone surrogates: the recorder stores U+FFFD instead."""
    standin.enqueue(PRINT_SURROGATE, FINAL_SURROGATE, model=ROOT)
    db = Database.open(db_url)
    recorder = db.recorder()
    config = RunConfig(root=ModelSpec("openai", ROOT, standin.openai_base_url))
    result = run("Q\udcff?", ["doc"], config, credentials=Credentials(openai_api_key="k"),
                 on_event=recorder)  # fmt: skip
    assert (result.status, result.answer) == ("completed", "x\ufffdy")
    assert recorder.close() == 0  # every event was saved
    saved = db.get_run(result.run_id)
    assert (saved.status, saved.answer, saved.question) == ("completed", "x\ufffdy", "Q\ufffd?")
    assert "\ufffd end" in fold(db.run_events(result.run_id)).iterations[0].blocks[0].output
    db.close()


def test_the_recorder_stores_events_holding_surrogates(db_url: str) -> None:
    """Storage's own rule, for events from any producer (an import, an older engine)."""
    db = Database.open(db_url)
    recorder = db.recorder()
    run_id = record(recorder, run_events(question="Q\ud800?", answer="A\udfff"))
    assert recorder.close() == 0
    saved = db.get_run(run_id)
    assert (saved.question, saved.answer) == ("Q\ufffd?", "A\ufffd")
    db.close()
