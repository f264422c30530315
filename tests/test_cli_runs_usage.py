"""`rlm runs` given bad numbers and bad databases: usage errors (exit 2) naming the flag, clear
messages, never a traceback. Real subprocesses, real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli_runs import rlm


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--limit", "99999999999999999999"),  # was a 43-line OverflowError traceback
        ("--limit", "0"),
        ("--limit", "-1"),
        ("--offset", "-5"),
        ("--offset", "99999999999999999999"),
        ("--limit", "ten"),
    ],
)
def test_bad_numbers_are_usage_errors_naming_the_flag(tmp_path: Path, flag: str, value: str):
    done = rlm("runs", "list", "--db", f"sqlite:///{tmp_path / 'runs.db'}", f"{flag}={value}")
    assert done.returncode == 2, done.stderr
    assert f"argument {flag}:" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_huge_but_valid_limit_lists_runs(tmp_path: Path) -> None:
    done = rlm("runs", "list", "--db", f"sqlite:///{tmp_path / 'runs.db'}", "--limit", "1000000")
    assert (done.returncode, done.stdout.strip()) == (0, "No saved runs."), done.stderr


@pytest.mark.parametrize("as_url", [True, False])
def test_a_directory_as_db_says_so(tmp_path: Path, as_url: bool) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    db = f"sqlite:///{folder}" if as_url else str(folder)
    done = rlm("runs", "list", "--db", db)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "disk I/O error" not in done.stderr
    expected = "is a directory, not a database file" if as_url else "For a SQLite file, write"
    assert expected in done.stderr
    assert f"sqlite:///{folder / 'runs.db'}" in done.stderr  # what to write instead
    assert list(folder.iterdir()) == []  # nothing was created in it
