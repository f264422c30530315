"""The `llm` plugin, installed into a fresh environment with `llm`, run against the stand-in.

Slow the first time on a machine (uv fetches llm and its few dependencies into its cache), so it
builds one environment per test session.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from rlm_engine.config import Budgets
from rlm_testkit.standin import StandIn

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def llm_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment with the locked `llm` extra and this package (not editable)."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed (.ci/setup installs it)")
    root = tmp_path_factory.mktemp("llm-env")
    venv = root / "venv"
    requirements = root / "requirements.txt"

    def call(*args: str) -> None:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=REPO)
        assert proc.returncode == 0, proc.stderr[-3000:]

    call(uv, "venv", "-q", "--python", sys.executable, str(venv))
    call(
        uv, "export", "--frozen", "--no-dev", "--extra", "llm", "--no-emit-project",
        "--no-hashes", "-q", "-o", str(requirements),
    )  # fmt: skip
    python = str(venv / "bin" / "python")
    call(uv, "pip", "install", "-q", "--python", python, "-r", str(requirements))
    call(uv, "pip", "install", "-q", "--python", python, "--no-deps", str(REPO))
    return venv


def repl(code: str) -> str:
    return f"```repl\n{code}\n```"


def test_llm_rlm_runs_with_llms_model_and_logs_each_call(
    llm_env: Path, standin: StandIn, tmp_path: Path
) -> None:
    user = tmp_path / "llm-user"
    user.mkdir()
    (user / "extra-openai-models.yaml").write_text(
        "- model_id: standin-root\n"
        "  model_name: root-model\n"
        f"  api_base: {standin.openai_base_url}\n"
        "  api_key_name: standin\n"
    )
    (user / "keys.json").write_text(json.dumps({"standin": "plugin-key"}))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Juniper Energy renews on 2027-03-01.")
    standin.enqueue(
        repl("print([d for d in context if 'Juniper' in d])"),
        "FINAL(2027-03-01)",
        model="root-model",
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "ANTHROPIC_", "VIRTUAL_ENV"))
    }
    env.update(LLM_USER_PATH=str(user), RLM_DATA_DIR=str(tmp_path / "rlm-data"))
    proc = subprocess.run(
        [str(llm_env / "bin" / "llm"), "rlm", "When does Juniper renew?", "-c", str(corpus),
         "-m", "standin-root", "--json", "--save"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["status"], out["answer"], out["iterations"]) == ("completed", "2027-03-01", 2)
    # llm's key went to llm's endpoint; the engine's sandbox never saw it
    assert {r.headers.get("authorization") for r in standin.requests} == {"Bearer plugin-key"}
    with sqlite3.connect(user / "logs.db") as db:
        turns = db.execute("select model, input_tokens from turns").fetchall()
    assert [model for model, _ in turns] == ["standin-root", "standin-root"]
    assert all(tokens and tokens > 0 for _, tokens in turns)
    # --save: our own trace is in RLM Workbench's database too
    runs = subprocess.run(
        [str(llm_env / "bin" / "rlm"), "runs", "show", out["run_id"], "--json"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert runs.returncode == 0, runs.stderr
    assert json.loads(runs.stdout)["run"]["answer"] == "2027-03-01"


def test_llm_rlm_starts_from_the_engines_budgets(llm_env: Path, tmp_path: Path) -> None:
    env = {**os.environ, "LLM_USER_PATH": str(tmp_path)}
    proc = subprocess.run(
        [str(llm_env / "bin" / "llm"), "rlm", "--help"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    shown = " ".join(proc.stdout.split())  # click wraps the help text
    for flag, default in [
        ("--max-iterations", Budgets.max_iterations),
        ("--max-sub-calls", Budgets.max_sub_calls),
        ("--max-depth", Budgets.max_depth),
    ]:
        assert re.search(rf"{flag} [^[]*\[default: {default}[;\]]", shown), flag
