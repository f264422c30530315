"""What `rlm ask` does before its first model request: nothing it can leave for later.

Importing an SDK, SQLAlchemy, numpy or the price table costs tenths of a second each; opening the
database more. None of it may come before the first request (bench/bench_cli_start.py measures the
time; these tests pin the order, without timing anything).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from rlm_engine.paths import plain_sqlite_path
from rlm_testkit.standin import Request, StandIn
from storage.connect import sqlite_path

ROOT = "root-model"
HEAVY = ("openai", "anthropic", "sqlalchemy", "alembic", "numpy", "genai_prices", "storage")


def test_the_cli_starts_without_sdks_storage_or_numpy() -> None:
    code = (
        "import sys, rlm_cli, rlm_cli.ask, rlm_cli.chat\n"
        "rlm_cli.build_parser()\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


ALL_COMMANDS = ["ask", "chat", "eval", "model", "runs"]


@pytest.mark.parametrize(
    ("argv", "built"),
    [
        (["ask", "Q?", "--context", "a.txt"], ["ask"]),
        (["runs", "list"], ["runs"]),
        (["--help"], ALL_COMMANDS),
        (["nosuch"], ALL_COMMANDS),
    ],
)
def test_only_the_command_named_is_built(argv: list[str], built: list[str]) -> None:
    """The other commands' modules cost tens of milliseconds before `rlm ask`'s first request;
    a command line that names none (help, a typo) builds them all, to list them."""
    code = (
        "import sys, rlm_cli\n"
        f"rlm_cli.build_parser({argv!r})\n"
        "print(sorted(n for n, c in rlm_cli.COMMANDS.items() if c.module in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == repr(built)


def test_the_first_request_comes_before_the_database_is_opened(
    standin_env: StandIn, isolated_env: Path, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("The code is 42.")
    database = isolated_env / "rlm.db"
    seen: list[bool] = []

    def answer(request: Request) -> str:
        seen.append(database.exists())
        return "FINAL(42)"

    standin_env.on(answer, model=ROOT)
    command = [sys.executable, "-m", "rlm_cli", "ask", "Code?", "--context", str(notes)]
    proc = subprocess.run(
        [*command, "--model", ROOT, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stderr
    assert seen == [False]
    run_id = json.loads(proc.stdout)["run_id"]
    shown = subprocess.run(
        [sys.executable, "-m", "rlm_cli", "runs", "show", run_id, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["run"]["answer"] == "42"  # saved all the same


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///runs.db",
        "sqlite:////abs/dir/runs.db",
        "sqlite:///~/runs.db",
        "sqlite:////abs/with%20space/runs.db?mode=rwc",
        "sqlite:///",
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///file:runs.db?uri=true",
        "postgresql+psycopg://user:pw@host/db",
        "sqlite+pysqlite:////abs/runs.db",
    ],
)
def test_plain_sqlite_urls_are_read_as_sqlalchemy_reads_them(url: str) -> None:
    """The sandbox hides the database's directory, found without SQLAlchemy for the usual
    `sqlite:///` URL: where it finds one, it must be SQLAlchemy's."""
    plain = plain_sqlite_path(url)
    if plain is not None:
        assert plain == sqlite_path(make_url(url))
    else:
        assert not url.startswith("sqlite:///") or sqlite_path(make_url(url)) is None


@pytest.mark.parametrize(
    ("provider", "window", "method", "expected"),
    [
        ("openai", None, "auto", ["genai_prices", "openai"]),
        ("openai", None, "rlm", ["openai"]),  # the RLM asked for: no window to look up
        ("anthropic", 100_000, "auto", ["anthropic"]),  # a window given: no price table needed
        ("local", None, "auto", []),  # nothing to import ahead (its window is the local server's)
    ],
)
def test_warming_up_imports_what_the_first_request_needs(
    provider: str, window: int | None, method: str, expected: list[str]
) -> None:
    """`rlm ask` imports these in a thread while the corpus loads: the root provider's SDK and,
    when the router needs the window and it is not given, the price table it reads it from;
    nothing else."""
    config = (
        f"RunConfig(root=ModelSpec({provider!r}, 'm'), window_tokens={window!r}, method={method!r})"
    )
    code = (
        "import json, sys\n"
        "from rlm_engine.config import ModelSpec, RunConfig\n"
        "from rlm_engine.warm import warm_up\n"
        f"warm_up({config}).join()\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert sorted(json.loads(proc.stdout)) == expected
