"""Child RLMs cannot multiply without bound: a run tree holds at most `max_sandboxes` live
sandboxes, however many threads call `rlm_query` at however many levels (real sandboxes, counted
as this test's descendant worker processes; the stand-in over HTTP plays every model)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from rlm_engine import Budgets, Credentials, ModelSpec, RunConfig, run
from rlm_engine.events import Event, Notice, RunFinished
from rlm_testkit.sandbox_census import FAN_OUT, descendants, sandbox_workers
from rlm_testkit.standin import Request, StandIn

ROOT, SUB = "root-model", "sub-model"


def worker_pids() -> set[int]:
    """The sandbox workers below this process (other tests' may still be closing)."""
    return sandbox_workers(descendants(os.getpid()))


class Census:
    """Counts live sandboxes each time a model is asked (each child RLM asks while it lives)."""

    def __init__(self) -> None:
        self.earlier = worker_pids()  # workers of earlier tests in this process are not counted
        self.peak = 0
        self.processes = 0
        self.lock = threading.Lock()

    def look(self) -> None:
        workers = len(worker_pids() - self.earlier)
        processes = len(descendants(os.getpid()))
        with self.lock:
            self.peak = max(self.peak, workers)
            self.processes = max(self.processes, processes)


def test_live_sandboxes_stay_under_the_cap_at_depth_3(standin: StandIn) -> None:
    census = Census()

    def sub_model(request: Request) -> str:
        census.look()
        if request.system is None:  # a plain llm_query (a leaf, or a fallback)
            return "leaf answer"
        if "REPL output" in request.messages[-1]["content"]:
            return "FINAL(child done)"
        return FAN_OUT.replace("N", "3")  # each child RLM fans out again

    standin.on(sub_model, model=SUB)
    standin.enqueue(FAN_OUT.replace("N", "8"), "FINAL(root done)", model=ROOT)
    events: list[Event] = []
    lock = threading.Lock()

    def collect(event: Event) -> None:
        with lock:
            events.append(event)

    config = RunConfig(
        root=ModelSpec("openai", ROOT, standin.openai_base_url),
        sub=ModelSpec("openai", SUB, standin.openai_base_url),
        budgets=Budgets(max_depth=3, max_sub_calls=None),
        max_sandboxes=4,
        exec_timeout_s=120,
    )
    result = run("Q?", "ctx", config, credentials=Credentials(openai_api_key="k"),
                 on_event=collect)  # fmt: skip
    assert (result.status, result.answer) == ("completed", "root done")
    # 8 root threads, each child fanning out to 3: uncapped, 1 + 8 + 24 sandboxes could live
    assert 2 <= census.peak <= 4, census.peak
    # every one of the root's 8 calls became a child RLM (they wait for a slot) ...
    children = [e for e in events if isinstance(e, RunFinished) and e.depth == 1]
    assert len(children) == 8 and all(e.answer == "child done" for e in children)
    # ... while deeper calls that found no slot ran as llm_query, and the model was told
    notes = [e for e in events if isinstance(e, Notice) and "max_sandboxes" in e.message]
    assert notes, "no fallback was noted"
    told = [r for r in standin.requests if "max_sandboxes" in r.messages[-1]["content"]]
    assert told, "the model was not told"
    assert worker_pids() <= census.earlier  # every sandbox of the tree was closed


def test_rlm_ask_takes_max_sandboxes_and_refuses_zero(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    proc = subprocess.run(
        [sys.executable, "-m", "rlm_cli", "ask", "Q?", "--context", str(tmp_path / "a.txt"),
         "--max-sandboxes", "0", "--no-save"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and "--max-sandboxes" in proc.stderr
