"""Importing a hostile or damaged run export: one clear error, nothing stored. Real SQLite files,
and `rlm runs import FILE` as a real subprocess."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rlm_engine.events import EVENT_TYPES
from rlm_testkit.runs import record, run_events
from storage import Database
from storage.errors import ExportFormatError
from storage.import_check import KNOWN_EVENT_TYPES
from tests.test_cli_runs import rlm


@pytest.fixture
def exported(tmp_path: Path) -> dict[str, Any]:
    """A real export of a recorded run (two iterations, sub-calls, an answer)."""
    with Database.open(f"sqlite:///{tmp_path / 'source.db'}") as db:
        record(db.recorder(), run_events("good-run", question="Where is the cat?", sub_calls=2))
        return db.export_run("good-run")


def nest(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"x": value}
    return value


def event_of(kind: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Picks the first event of this type in an export."""
    return lambda data: next(e for e in data["events"] if e["type"] == kind)


def rename(event: dict[str, Any], old: str, new: str) -> None:
    event[new] = event.pop(old)


BAD: dict[str, Callable[[dict[str, Any]], None]] = {
    "bogus event type": lambda d: d["events"].append({"type": "drop_tables", "run_id": "x"}),
    "question is a dict": lambda d: d["run"].update(question={"a": 1}),
    "event question is a dict": lambda d: event_of("run_started")(d).update(question={"a": 1}),
    "run id is a path": lambda d: d["run"].update(id="../../etc/passwd"),
    "run id is a number": lambda d: d["run"].update(id=12),
    "run id too long": lambda d: d["run"].update(id="a" * 65),
    "no run id": lambda d: d["run"].pop("id"),
    "tokens overflow": lambda d: d["run"].update(input_tokens=10**30),
    "event tokens overflow": lambda d: event_of("root_response")(d)["usage"].update(
        input_tokens=10**30
    ),
    "iteration is text": lambda d: event_of("root_response")(d).update(iteration="one"),
    "cost is infinite": lambda d: d["run"].update(cost_usd=float("inf")),
    "time is NaN": lambda d: event_of("code_executed")(d).update(time=float("nan")),
    "depth unbounded": lambda d: event_of("root_response")(d).update(depth=10**6),
    "deep nesting": lambda d: event_of("run_started")(d).update(config=nest(5000)),
    "event not an object": lambda d: d["events"].append(["run_started"]),
    "events not a list": lambda d: d.update(events={"0": {}}),
    "usage not an object": lambda d: event_of("root_response")(d).update(usage=[1, 2]),
    "prompt not text": lambda d: event_of("sub_call_started")(d).update(prompt=["x"]),
    "status too long": lambda d: d["run"].update(status="x" * 500),
    "a renamed field": lambda d: rename(event_of("code_executed")(d), "code", "source"),
}


def test_every_engine_event_type_is_known_to_the_import_check() -> None:
    assert set(EVENT_TYPES) <= KNOWN_EVENT_TYPES


def test_a_real_export_passes(exported: dict[str, Any], tmp_path: Path) -> None:
    with Database.open(f"sqlite:///{tmp_path / 'target.db'}") as db:
        assert db.import_run(exported) == "good-run"
        assert len(db.run_events("good-run")) == len(exported["events"])


@pytest.mark.parametrize("damage", list(BAD), ids=list(BAD))
def test_a_bad_export_raises_one_clear_error_and_stores_nothing(
    exported: dict[str, Any], tmp_path: Path, damage: str
) -> None:
    data = copy.deepcopy(exported)
    BAD[damage](data)
    with Database.open(f"sqlite:///{tmp_path / 'target.db'}") as db:
        with pytest.raises(ExportFormatError) as raised:
            db.import_run(data)
        assert "export" in str(raised.value)
        assert db.list_runs() == []


def test_rlm_runs_import_prints_the_run_id(exported: dict[str, Any], tmp_path: Path) -> None:
    source = tmp_path / "run.json"
    source.write_text(json.dumps(exported))
    db = f"sqlite:///{tmp_path / 'target.db'}"
    done = rlm("runs", "import", str(source), "--db", db)
    assert (done.returncode, done.stdout.strip()) == (0, "good-run"), done.stderr
    assert "imported run good-run" in done.stderr
    again = rlm("runs", "import", str(source), "--db", db)
    assert again.returncode == 1 and "already in this database" in again.stderr


@pytest.mark.parametrize(
    "content",
    [
        "not json at all",
        "[" * 100_000 + "]" * 100_000,  # deeper than the JSON parser's stack
        json.dumps({"format": "something else"}),
        "run id",  # replaced below by an export whose run id is a path
    ],
    ids=["not-json", "deep", "not-an-export", "path-id"],
)
def test_rlm_runs_import_of_a_bad_file_exits_2(
    exported: dict[str, Any], tmp_path: Path, content: str
) -> None:
    if content == "run id":
        content = json.dumps({**exported, "run": {**exported["run"], "id": "../../etc/passwd"}})
    source = tmp_path / "bad.json"
    source.write_text(content)
    db = f"sqlite:///{tmp_path / 'target.db'}"
    done = rlm("runs", "import", str(source), "--db", db)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    assert str(source) in done.stderr
    assert rlm("runs", "list", "--db", db, "--json").stdout.strip() == "[]"


def test_rlm_runs_import_of_a_missing_file_exits_2(tmp_path: Path) -> None:
    done = rlm("runs", "import", str(tmp_path / "nope.json"), "--db", f"sqlite:///{tmp_path}/t.db")
    assert done.returncode == 2 and "cannot read" in done.stderr
