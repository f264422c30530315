"""`rlm runs list | show | export` as a real subprocess, on a database filled by the recorder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rlm_engine.events import SubCallFinished, SubCallStarted, event_from_dict
from rlm_engine.paths import default_db_url
from rlm_testkit.runs import record, run_events
from storage import Database
from tests.fixtures.frozen import frozen

ROOT = Path(__file__).resolve().parents[1]


def rlm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rlm_cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'runs.db'}"


@pytest.fixture
def saved(db_url: str) -> list:
    """Two runs: 'older' (failed) then 'newer' (completed, 3 sub-calls)."""
    with Database.open(db_url) as db:
        record(db.recorder(), run_events("older", question="Who wrote it?", status="failed"))
        events = run_events("newer", question="Where is the cat?", sub_calls=3)
        record(db.recorder(), events)
    return events


def test_list_json_shows_runs_newest_first(saved: list, db_url: str) -> None:
    done = rlm("runs", "list", "--db", db_url, "--json")
    assert [run["run_id"] for run in json.loads(done.stdout)] == ["newer", "older"]


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--status", "failed"], ["older"]),
        (["--search", "CAT"], ["newer"]),
        (["--limit", "1"], ["newer"]),
        (["--model", "gpt-sub"], ["newer", "older"]),
        (["--model", "nobody"], []),
        (["--status", "completed", "--search", "who"], []),
    ],
)
def test_list_filters(saved: list, db_url: str, flags: list[str], expected: list[str]) -> None:
    done = rlm("runs", "list", "--db", db_url, "--json", *flags)
    assert [run["run_id"] for run in json.loads(done.stdout)] == expected


@pytest.fixture
def in_corpora(db_url: str) -> dict[str, int]:
    """Runs 'a1', 'a2' asked of corpus "Annual reports", 'b1' of "Bylaws", 'b2' of a second
    corpus also named "Bylaws", 'none' of no corpus; returns the corpus ids by run."""
    ids = {}
    with Database.open(db_url) as db:
        for run_id, name in [("a1", "Annual reports"), ("b1", "Bylaws"), ("b2", "Bylaws")]:
            corpus = db.save_corpus(name, [{"name": "d.txt", "kind": "text", "text": run_id}])
            ids[run_id] = corpus.id
            record(db.recorder(corpus_id=corpus.id), run_events(run_id, root_model="m-" + run_id))
        record(db.recorder(corpus_id=ids["a1"]), run_events("a2"))
        record(db.recorder(), run_events("none"))
    return ids


def _listed(db_url: str, *flags: str) -> list[str]:
    done = rlm("runs", "list", "--db", db_url, "--json", *flags)
    assert done.returncode == 0, done.stderr
    return sorted(run["run_id"] for run in json.loads(done.stdout))


def test_list_by_corpus_name_or_id(in_corpora: dict[str, int], db_url: str) -> None:
    assert _listed(db_url, "--corpus", "Annual reports") == ["a1", "a2"]
    assert _listed(db_url, "--corpus", "annual REPORTS") == ["a1", "a2"]
    assert _listed(db_url, "--corpus", str(in_corpora["b2"])) == ["b2"]


def test_list_by_corpus_and_model_together(in_corpora: dict[str, int], db_url: str) -> None:
    assert _listed(db_url, "--corpus", "Annual reports", "--model", "m-a1") == ["a1"]


@pytest.mark.parametrize(
    ("wanted", "message"),
    [("Bylaws", "several corpora are named 'Bylaws' (ids"), ("Minutes", "no corpus named")],
)
def test_list_by_an_unclear_corpus_says_why(
    in_corpora: dict[str, int], db_url: str, wanted: str, message: str
) -> None:
    done = rlm("runs", "list", "--db", db_url, "--corpus", wanted)
    assert (done.returncode, message in done.stderr, done.stdout) == (1, True, "")


def test_list_prints_a_table(saved: list, db_url: str) -> None:
    lines = rlm("runs", "list", "--db", db_url).stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["RUN", "newer", "older"]


def test_list_uses_the_data_directory_by_default() -> None:
    with Database.open(default_db_url()) as db:
        record(db.recorder(), run_events("in-data-dir"))
    assert "in-data-dir" in rlm("runs", "list").stdout


def test_show_prints_every_prompt_and_response(saved: list, db_url: str) -> None:
    out = rlm("runs", "show", "newer", "--db", db_url).stdout
    texts = [e.prompt for e in saved if isinstance(e, SubCallStarted)]
    texts += [e.response for e in saved if isinstance(e, SubCallFinished)]
    assert [text for text in texts if text not in out] == []


def test_show_prints_code_output_and_answer(saved: list, db_url: str) -> None:
    out = rlm("runs", "show", "newer", "--db", db_url).stdout
    assert ("print(answers)" in out, "['answer 2.0', ...]" in out, "Answer: 42" in out) == (
        True,
        True,
        True,
    )


def test_show_json_holds_the_events(saved: list, db_url: str) -> None:
    shown = json.loads(rlm("runs", "show", "newer", "--db", db_url, "--json").stdout)
    assert [event_from_dict(e) for e in shown["events"]] == saved


def test_export_to_a_file_imports_elsewhere(saved: list, db_url: str, tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    assert rlm("runs", "export", "newer", "--db", db_url, "-o", str(target)).returncode == 0
    with Database.open(f"sqlite:///{tmp_path / 'other.db'}") as other:
        other.import_run(json.loads(target.read_text()))
        assert other.run_events("newer") == saved


@pytest.mark.parametrize("command", ["show", "export"])
def test_unknown_run_says_so_and_exits_1(saved: list, db_url: str, command: str) -> None:
    done = rlm("runs", command, "nope", "--db", db_url)
    assert (done.returncode, "no run 'nope'" in done.stderr, done.stdout) == (1, True, "")


def test_corrupt_database_gives_a_message_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.db"
    path.write_bytes(b"not a database at all" * 100)
    done = rlm("runs", "list", "--db", f"sqlite:///{path}")
    assert (done.returncode, "not a readable SQLite database" in done.stderr) == (1, True)
    assert "Traceback" not in done.stderr


def test_list_works_on_a_database_in_a_read_only_directory(saved: list, db_url: str) -> None:
    path = Path(db_url.removeprefix("sqlite:///"))
    with frozen(path.parent):
        done = rlm("runs", "list", "--db", db_url, "--json")
    assert (done.returncode, [r["run_id"] for r in json.loads(done.stdout or "[]")]) == (
        0,
        ["newer", "older"],
    ), done.stderr


def test_bad_usage_exits_2(db_url: str) -> None:
    assert rlm("runs", "list", "--db", db_url, "--limit", "many").returncode == 2
