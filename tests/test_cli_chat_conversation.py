"""`rlm chat` saves its questions as one conversation (History shows it as one row); `/new`
starts another."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rlm_engine.paths import default_db_url
from rlm_testkit.standin import StandIn
from storage import Database


def test_questions_of_one_repl_are_one_conversation(standin_env: StandIn, tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text("The launch code is 7431.")
    standin_env.enqueue("FINAL(7431)", "FINAL(yes)", "FINAL(again 7431)", model="root-model")
    command = [
        sys.executable, "-m", "rlm_cli", "chat", "--context", str(folder),
        "--provider", "openai", "--model", "root-model",
    ]  # fmt: skip
    proc = subprocess.run(
        command,
        input="What is the code?\nSure?\n/new\nThe code again?\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    with Database.open(default_db_url()) as db:
        rows = db.list_runs(grouped=True)
        assert [(r.question, r.turns) for r in rows] == [("The code again?", 1), ("Sure?", 2)]
