"""Run an evaluation: every question under every configuration (and repeat) is a normal recorded
run, graded as it ends and written as one cell.

Concurrency: at most `parallel` runs at once per provider (the local model: at most 2, what its
server serves at once). The cost cap counts runs and judge calls; once spent, no new cell starts
(runs in flight finish, so the cap can be passed by what they cost) and the status is `limit`.
A stop cancels the runs in flight and keeps them out of the results: `resume` runs them again,
as it runs every cell without a result (a SIGKILL leaves exactly those).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from rlm_engine.config import Credentials, ModelSpec, RunConfig
from rlm_engine.errors import RLMError
from rlm_eval.configs import EvalConfig, run_config
from rlm_eval.graders import Grade, grade
from rlm_eval.questions import Question

LOCAL_BOUND = 2


@dataclass(frozen=True)
class Progress:
    """How far an evaluation is; `eta_s` None until one cell of this sitting has finished."""

    done: int
    total: int
    passed: int
    running: int
    spent_usd: float
    elapsed_s: float
    eta_s: float | None
    last: str = ""


@dataclass(frozen=True)
class _Cell:
    question: Question
    config: EvalConfig
    repeat: int

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.question.id, self.config.name, self.repeat)


def _cell_cost(cost: float | None, grade_detail: dict[str, Any]) -> float:
    return (cost or 0.0) + (grade_detail.get("cost_usd") or 0.0)


class EvalRunner:
    """Runs the cells of one stored evaluation that have no result yet. Blocking: call `run()`
    from a worker thread in a UI; `stop` (a threading.Event) ends it early."""

    def __init__(
        self,
        db: Any,
        eval_id: str,
        context: str | list[str],
        *,
        credentials: Credentials | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        stop: threading.Event | None = None,
        hidden_paths: tuple[str, ...] = (),
    ) -> None:
        """`hidden_paths`: host directories every run's sandbox hides (the data directory)."""
        info = db.evals.get(eval_id)
        if info is None:
            raise RLMError(f"No evaluation {eval_id} in {db.url}.")
        self.db, self.info, self.context = db, info, context
        self.credentials = credentials or Credentials.from_env()
        self.on_progress = on_progress
        self.stop = stop or threading.Event()
        self.hidden_paths = tuple(hidden_paths)
        self.configs = [EvalConfig.from_json(c) for c in info.configs]
        self.run_configs = {c.name: run_config(c, self.credentials) for c in self.configs}
        self.questions = [Question.from_json(q) for q in info.questions]
        done = {(c.question_id, c.config_name, c.repeat) for c in info.cells}
        self.todo = [
            _Cell(q, c, r)
            for r in range(info.repeat)
            for q in self.questions
            for c in self.configs
            if (q.id, c.name, r) not in done
        ]
        self.total = info.total_cells
        self.done = len(done)
        self.passed = sum(c.passed for c in info.cells)
        self.ok_runs = sum(c.status in ("completed", "limit") for c in info.cells)
        self.first_error = next((c.error for c in info.cells if c.error), None)
        self.spent = sum(_cell_cost(c.cost_usd, c.grade) for c in info.cells)
        self.cap_hit = False
        self._lock = threading.Lock()
        self._report_lock = threading.Lock()  # progress is reported one call at a time, in order
        self._running = 0
        self._finished_here = 0
        self._started = time.monotonic()
        self._judge = self._make_judge(info.judge)
        self._bounds: dict[str, threading.Semaphore] = {}
        for config in self.run_configs.values():
            key = config.root.provider
            bound = min(info.parallel, LOCAL_BOUND) if key == "local" else info.parallel
            self._bounds.setdefault(key, threading.Semaphore(bound))

    def _make_judge(self, data: dict[str, Any] | None) -> tuple[Any, ModelSpec] | None:
        if not data:
            return None
        from rlm_engine.providers import make_provider

        spec = ModelSpec(data["provider"], data["model"], data.get("base_url"))
        return make_provider(spec, self.credentials), spec

    # -- running -------------------------------------------------------------------------------

    def run(self) -> str:
        """Run the remaining cells; returns and stores the status of this sitting."""
        self.db.evals.claim(self.info.id)
        error = None
        workers = max(1, self.info.parallel * len(self._bounds))
        with ThreadPoolExecutor(workers, thread_name_prefix="rlm-eval") as pool:
            for future in [pool.submit(self._one, cell) for cell in self.todo]:
                try:
                    future.result()
                except Exception as exc:  # a database or engine failure: the evaluation failed
                    error = error or f"{type(exc).__name__}: {exc}"
                    self.stop.set()  # no new cell starts; the runs in flight are stopped
        status = self._status(error)
        if status == "failed" and error is None:
            error = f"Every run failed; the first said: {self.first_error}"
        self.db.evals.finish(self.info.id, status, time.monotonic() - self._started, error)
        if self._judge is not None:
            self._judge[0].close()
        return status

    def _status(self, error: str | None) -> str:
        if error is not None:
            return "failed"
        if self.done and not self.ok_runs:  # not one run answered: the evaluation failed
            return "failed"
        if self.done >= self.total:
            return "completed"
        if self.cap_hit:
            return "limit"
        return "stopped"

    def _may_start(self) -> float | None:
        """None: do not start (stopped, or the cap is spent); else this run's cost budget
        (inf: no cap)."""
        if self.stop.is_set():
            return None
        cap = self.info.max_cost_usd
        if cap is None:
            return float("inf")
        with self._lock:
            if self.spent >= cap:
                self.cap_hit = True
                return None
            return cap - self.spent

    def _one(self, cell: _Cell) -> None:
        config = self.run_configs[cell.config.name]
        with self._bounds[config.root.provider]:
            budget = self._may_start()
            if budget is None:
                return
            if budget != float("inf"):
                own = config.budgets.max_cost_usd
                limit = budget if own is None else min(own, budget)
                config = replace(config, budgets=replace(config.budgets, max_cost_usd=limit))
            with self._lock:
                self._running += 1
            try:
                self._run_cell(cell, config)
            finally:
                with self._lock:
                    self._running -= 1

    def _run_cell(self, cell: _Cell, config: RunConfig) -> None:
        from rlm_engine.session import run

        label = f"{self.info.name} · {cell.config.name}"
        recorder = self.db.recorder(corpus_id=self.info.corpus_id, label=label)
        try:
            result = run(
                cell.question.question,
                self.context,
                config,
                credentials=self.credentials,
                on_event=recorder,
                cancel=self.stop,
                hidden_paths=self.hidden_paths,
            )
        finally:
            recorder.close()
        if self.stop.is_set() and result.status == "cancelled":
            return  # stopped, not answered: resume runs it again
        ok = result.status in ("completed", "limit")
        graded = self._grade(cell.question, result.answer if ok else None)
        self.db.evals.add_cell(
            self.info.id,
            question_id=cell.question.id,
            config_name=cell.config.name,
            repeat=cell.repeat,
            run_id=result.run_id,
            status=result.status,
            answer=result.answer,
            error=result.error,
            passed=graded.passed,
            score=graded.score,
            grade=graded.detail,
            iterations=result.iterations,
            sub_calls=result.sub_calls,
            input_tokens=result.input_tokens,
            output_tokens=result.output_tokens,
            cost_usd=result.cost_usd,
            elapsed_s=result.elapsed_s,
            finished_at=time.time(),
        )
        with self._lock:
            self.done += 1
            self._finished_here += 1
            self.passed += graded.passed
            self.ok_runs += ok
            self.first_error = self.first_error or result.error
            self.spent += _cell_cost(result.cost_usd, graded.detail)
            mark = "pass" if graded.passed else ("FAILED RUN" if not ok else "wrong")
            last = f"{cell.question.id} × {cell.config.name}: {mark}"
        self._report(last)

    def _grade(self, question: Question, answer: str | None) -> Grade:
        if question.grader != "judge":
            return grade(
                question.grader,
                answer,
                question.expected,
                tolerance=question.tolerance,
                rel_tolerance=question.rel_tolerance,
                threshold=question.threshold,
            )
        if self._judge is None:
            return Grade(False, 0.0, {"error": "no judge configured (--judge)"})
        from rlm_eval.judge import judge

        provider, spec = self._judge
        return judge(provider, spec, question.question, question.expected, answer)

    def _report(self, last: str = "") -> None:
        if self.on_progress is None:
            return
        with self._report_lock:
            self._report_now(last)

    def _report_now(self, last: str) -> None:
        with self._lock:
            elapsed = time.monotonic() - self._started
            left = self.total - self.done
            eta = elapsed / self._finished_here * left if self._finished_here else None
            progress = Progress(
                self.done, self.total, self.passed, self._running, self.spent, elapsed, eta, last
            )
        self.on_progress(progress)
