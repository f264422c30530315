"""Evaluations end to end: `rlm eval run/resume/list/show` as real subprocesses against the
stand-in (real HTTP, real sandboxes, a real SQLite file). One configuration's model is scripted
to answer every question right and the other's wrong, so the accuracies must be 100% and 0%.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rlm_engine.paths import default_db_url
from rlm_testkit.standin import Request, StandIn
from storage import Database

QUESTIONS = [
    {
        "id": "count",
        "question": "How many invoices are overdue?",
        "expected": 4,
        "grader": "number",
    },
    {
        "id": "who",
        "question": "Which vendor is largest?",
        "expected": "Acme Foods",
        "grader": "exact",
    },
    {"question": "List the IDs.", "expected": ["SA-1", "SA-2"], "grader": "set"},
    {"question": "Which code?", "expected": "maple-417", "grader": "contains"},
    {"question": "Which ref?", "expected": r"R-\d{5}", "grader": "regex"},
]
RIGHT = {
    "How many invoices are overdue?": "There are 4 overdue invoices.",
    "Which vendor is largest?": "Acme Foods",
    "List the IDs.": "SA-2, SA-1",
    "Which code?": "The code is maple-417.",
    "Which ref?": "R-12345",
}
CONFIGS = [
    "--config",
    "good:provider=openai,model=right",
    "--config",
    "bad:provider=openai,model=wrong",
]


def _question_of(request: Request) -> str:
    first = request.messages[0]["content"]
    return next(q for q in RIGHT if q in first)


def script(standin: StandIn) -> None:
    standin.on(lambda r: f'FINAL("{RIGHT[_question_of(r)]}")', model="right")
    standin.on(lambda r: 'FINAL("I could not find it")', model="wrong")


def rlm(*args: str, env: dict[str, str] | None = None, timeout: float = 240):
    return subprocess.run(
        [sys.executable, "-m", "rlm_cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def set_file(tmp_path: Path) -> Path:
    path = tmp_path / "set.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    return path


@pytest.fixture
def doc(tmp_path: Path) -> Path:
    path = tmp_path / "doc.txt"
    path.write_text("Invoices and vendors. " * 20)
    return path


def test_two_configurations_right_and_wrong(standin_env: StandIn, set_file: Path, doc: Path):
    script(standin_env)
    proc = rlm("eval", "run", str(set_file), "--context", str(doc), *CONFIGS, "--parallel", "3",
               "--json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert {"eval_id", "status", "elapsed_s", "configs", "questions"} <= set(out)
    assert out["status"] == "completed" and out["elapsed_s"] > 0
    good, bad = out["configs"]
    keys = {"name", "correct", "total", "accuracy", "ci95", "cost_usd", "median_elapsed_s",
            "input_tokens", "output_tokens", "sub_calls", "failed"}  # fmt: skip
    assert keys <= set(good) and keys <= set(bad)
    assert (good["name"], good["correct"], good["total"], good["accuracy"]) == ("good", 5, 5, 1.0)
    assert (bad["name"], bad["correct"], bad["total"], bad["accuracy"]) == ("bad", 0, 5, 0.0)
    assert good["ci95"][1] == 1.0 and 0.5 < good["ci95"][0] < 0.6  # Wilson, n=5
    assert bad["ci95"][0] == 0.0 and 0.4 < bad["ci95"][1] < 0.5
    assert good["failed"] == bad["failed"] == 0 and good["input_tokens"] > 0
    assert [q["id"] for q in out["questions"]] == ["count", "who", "q003", "q004", "q005"]
    first = out["questions"][0]
    assert first["expected"] == 4 and set(first["results"]) == {"good", "bad"}
    assert set(first["results"]["good"]) >= {"run_id", "answer", "passed", "score"}
    assert first["results"]["good"]["passed"] is True
    assert first["results"]["bad"]["answer"] == "I could not find it"
    # every cell is a normal recorded run, labelled with its configuration
    with Database.open(default_db_url()) as db:
        run = db.get_run(first["results"]["good"]["run_id"])
        assert run is not None and run.status == "completed" and run.label.endswith("· good")
        assert run.answer == RIGHT[QUESTIONS[0]["question"]]
    assert "[10/10]" in proc.stderr and "ETA" in proc.stderr


def test_show_and_list_read_it_back(standin_env: StandIn, set_file: Path, doc: Path) -> None:
    script(standin_env)
    ran = json.loads(rlm("eval", "run", str(set_file), "--context", str(doc), *CONFIGS,
                         "--json").stdout)  # fmt: skip
    shown = rlm("eval", "show", ran["eval_id"], "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout) == ran
    table = rlm("eval", "show", ran["eval_id"])
    assert "good" in table.stdout and "100%" in table.stdout and "0%" in table.stdout
    listed = json.loads(rlm("eval", "list", "--json").stdout)
    assert [(e["eval_id"], e["status"], e["cells_done"]) for e in listed] == [
        (ran["eval_id"], "completed", 10)
    ]
    assert rlm("eval", "show", "ev-nope").returncode == 1
    rows = rlm("eval", "show", ran["eval_id"], "--csv").stdout.splitlines()
    assert rows[0].startswith("question_id,question,expected,config") and len(rows) == 11


def test_bad_set_line_is_named_and_exits_2(set_file: Path, doc: Path) -> None:
    lines = set_file.read_text().splitlines()
    lines.insert(2, '{"question": "Q", "expected": "x", "grader": "fuzzy"}')
    set_file.write_text("\n".join(lines))
    proc = rlm("eval", "run", str(set_file), "--context", str(doc), *CONFIGS)
    assert proc.returncode == 2
    assert "line 3" in proc.stderr and "grader" in proc.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--config", "x:bogus=1"], "unknown key(s) bogus"),
        (["--config", "nameonly"], "NAME:KEY=VALUE"),
        (["--config", "x:max-iterations=-1"], "max-iterations"),
        (["--config", "x:method=sideways"], "method must be rlm or direct"),
        (["--config", "a:model=m", "--config", "a:model=n"], "used twice"),
        (["--config", "a:model=m", "--parallel", "0"], "--parallel"),
        (["--config", "a:model=m", "--judge", "provider=nope"], "--judge"),
    ],
)
def test_bad_configuration_exits_2(extra: list[str], message: str, set_file: Path, doc: Path):
    proc = rlm("eval", "run", str(set_file), "--context", str(doc), *extra)
    assert proc.returncode == 2 and message in proc.stderr


def test_judge_question_needs_a_judge(tmp_path: Path, doc: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text(json.dumps({"question": "Q?", "expected": "x", "grader": "judge"}) + "\n")
    proc = rlm("eval", "run", str(path), "--context", str(doc), "--config", "a:model=m")
    assert proc.returncode == 2 and "--judge" in proc.stderr


def test_judge_grades_and_its_verdict_is_kept(standin_env: StandIn, tmp_path: Path, doc: Path):
    standin_env.on(lambda r: 'FINAL("Four of them")', model="right")
    standin_env.on(lambda r: '{"verdict": "correct", "reasoning": "Four is 4."}', model="judge")
    path = tmp_path / "j.jsonl"
    path.write_text(json.dumps({"question": "How many?", "expected": "4", "grader": "judge"}))
    proc = rlm("eval", "run", str(path), "--context", str(doc), "--config",
               "a:provider=openai,model=right", "--judge", "provider=openai,model=judge",
               "--json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["configs"][0]["correct"] == 1
    with Database.open(default_db_url()) as db:
        (cell,) = db.evals.get(out["eval_id"]).cells
    assert cell.grade["verdict"] == "correct" and cell.grade["reasoning"] == "Four is 4."
    assert cell.grade["judge"] == "openai:judge" and "cost_usd" in cell.grade


def test_every_run_failing_fails_the_evaluation(standin_env: StandIn, set_file: Path, doc: Path):
    standin_env.on(lambda r: None)  # nothing scripted: the stand-in answers 500
    proc = rlm("eval", "run", str(set_file), "--context", str(doc),
               "--config", "a:provider=openai,model=m,request-timeout=5", "--json")  # fmt: skip
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert out["status"] == "failed" and out["configs"][0]["failed"] == 5
    assert "Every run failed" in proc.stderr


def test_cost_cap_stops_starting_cells(standin_env: StandIn, set_file: Path, doc: Path) -> None:
    script(standin_env)
    priced = "good:provider=openai,model=right,price=right=100000,100000"
    proc = rlm("eval", "run", str(set_file), "--context", str(doc), "--config", priced,
               "--parallel", "1", "--max-cost", "0.000001", "--json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["status"] == "limit"
    assert out["configs"][0]["total"] == 1 and out["configs"][0]["cost_usd"] > 0
    unrun = out["questions"][1]["results"]["good"]
    assert unrun == {"run_id": None, "answer": None, "passed": None, "score": None}


def test_repeat_runs_each_cell_k_times(standin_env: StandIn, set_file: Path, doc: Path) -> None:
    script(standin_env)
    set_file.write_text(json.dumps(QUESTIONS[0]) + "\n")
    proc = rlm("eval", "run", str(set_file), "--context", str(doc), *CONFIGS, "--repeat", "3",
               "--json")  # fmt: skip
    out = json.loads(proc.stdout)
    assert [c["total"] for c in out["configs"]] == [3, 3]
    repeats = out["questions"][0]["results"]["good"]["repeats"]
    assert len({r["run_id"] for r in repeats}) == 3 and all(r["passed"] for r in repeats)


def _cells(eval_id: str) -> int:
    with Database.open(default_db_url()) as db:
        info = db.evals.get(eval_id)
        return len(info.cells) if info else 0


def test_resume_after_sigkill_runs_only_the_cells_not_done(
    set_file: Path, doc: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with StandIn(latency_s=0.4) as standin:
        script(standin)
        monkeypatch.setenv("OPENAI_BASE_URL", standin.openai_base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        cmd = [sys.executable, "-m", "rlm_cli", "eval", "run", str(set_file), "--context",
               str(doc), *CONFIGS, "--parallel", "1", "--json"]  # fmt: skip
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)  # fmt: skip
        eval_id = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with Database.open(default_db_url()) as db:
                listed = db.evals.list()
            if listed and listed[0].n_cells >= 3:
                eval_id = listed[0].id
                break
            time.sleep(0.1)
        assert eval_id is not None, "the evaluation never got going"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        with Database.open(default_db_url()) as db:
            before = {(c.question_id, c.config_name): c.run_id for c in db.evals.get(eval_id).cells}
        assert 3 <= len(before) < 10
        listed = json.loads(rlm("eval", "list", "--json").stdout)
        assert listed[0]["status"] == "interrupted"

        asked = len(standin.requests)
        resumed = rlm("eval", "resume", eval_id, "--json")
        assert resumed.returncode == 0, resumed.stderr
        out = json.loads(resumed.stdout)
        assert out["status"] == "completed" and _cells(eval_id) == 10
        assert [c["accuracy"] for c in out["configs"]] == [1.0, 0.0]
        after = {(q["id"], name): r["run_id"] for q in out["questions"]
                 for name, r in q["results"].items()}  # fmt: skip
        assert all(after[key] == run_id for key, run_id in before.items())  # kept, not rerun
        assert len(standin.requests) - asked == 10 - len(before)  # one root call per new cell
        assert f"{10 - len(before)} of 10 cells to run" in resumed.stderr
    again = rlm("eval", "resume", eval_id, "--json")  # nothing left: prints the results
    assert again.returncode == 0 and json.loads(again.stdout)["status"] == "completed"


def test_direct_method_is_a_configuration_too(standin_env: StandIn, doc: Path, tmp_path: Path):
    standin_env.on(lambda r: "Acme Foods", model="reader")
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(QUESTIONS[1]) + "\n")
    proc = rlm("eval", "run", str(path), "--context", str(doc), "--config",
               "direct:provider=openai,model=reader,method=direct", "--json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["configs"][0]["accuracy"] == 1.0
    (request,) = standin_env.requests  # one call: the model read the corpus itself
    assert "Invoices and vendors." in request.messages[0]["content"]


def test_ctrl_c_stops_and_resume_finishes(standin_env: StandIn, set_file: Path, doc: Path):
    gate = threading.Event()
    standin_env.on(lambda r: f'FINAL("{RIGHT[_question_of(r)]}")' if gate.wait(60) else None,
                   model="right")  # fmt: skip
    cmd = [sys.executable, "-m", "rlm_cli", "eval", "run", str(set_file), "--context", str(doc),
           "--config", "good:provider=openai,model=right", "--parallel", "2", "--json"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not standin_env.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    assert standin_env.requests, "no run reached the model"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    stopped = json.loads(out)
    assert stopped["status"] == "stopped" and "rlm eval resume" in err
    assert stopped["configs"][0]["total"] == 0  # the cancelled runs are not results
    gate.set()
    resumed = rlm("eval", "resume", stopped["eval_id"], "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["configs"][0]["accuracy"] == 1.0
