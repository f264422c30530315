"""Evaluation overhead: N questions x 3 configurations against the stand-in at a fixed latency.

Every cell is a real recorded run (fresh sandbox, real HTTP through the SDK, a SQLite recorder),
answered by one root call that the stand-in delays by `--latency` seconds; so the ideal wall time
of the whole evaluation is cells x latency / parallel, and what exceeds it is the engine's and the
evaluation's own overhead (sandbox start, recording, grading, scheduling).

    uv run python bench/bench_eval.py          # 200 x 3, latency 0.2 s, parallel 4 and 8
    uv run python bench/bench_eval.py --questions 20 --parallel 1,4

Prints a Markdown table: cells, parallel, wall time, ideal, wall / ideal, seconds of overhead per
cell and per-cell median run time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlm_engine.config import Credentials
from rlm_eval import service
from rlm_eval.configs import parse_configs
from rlm_eval.questions import Question
from rlm_eval.runner import EvalRunner
from rlm_testkit.standin import StandIn
from storage import Database

MODELS = ("first", "second", "third")


def one(questions: int, parallel: int, latency: float) -> dict[str, float]:
    with StandIn(latency_s=latency) as standin, tempfile.TemporaryDirectory() as tmp:
        for model in MODELS:
            standin.on(lambda r: 'FINAL("42")', model=model)
        credentials = Credentials(openai_api_key="bench", openai_base_url=standin.openai_base_url)
        with Database.open(f"sqlite:///{tmp}/bench.db") as db:
            corpus = db.save_corpus("bench", [{"name": "a.txt", "text": "The answer is 42."}])
            qs = [Question(f"q{n}", f"Question {n}?", 42, "number") for n in range(questions)]
            configs = parse_configs([f"{m}:provider=openai,model={m}" for m in MODELS])
            eval_id = service.create(db, name="bench", questions=qs, corpus_id=corpus.id,
                                     configs=configs, parallel=parallel)  # fmt: skip
            runner = EvalRunner(db, eval_id, db.corpus_context(corpus.id), credentials=credentials)
            started = time.perf_counter()
            status = runner.run()
            wall = time.perf_counter() - started
            info = db.evals.get(eval_id)
    assert status == "completed" and all(c.passed for c in info.cells), status
    cells = len(info.cells)
    ideal = cells * latency / parallel
    return {
        "cells": cells,
        "parallel": parallel,
        "wall": wall,
        "ideal": ideal,
        "ratio": wall / ideal,
        "overhead_per_cell": (wall - ideal) * parallel / cells,
        "median_run": statistics.median(c.elapsed_s for c in info.cells),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--parallel", default="4,8", help="comma-separated")
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()
    print("| cells | --parallel | wall | ideal | wall / ideal | overhead per cell | median run |")
    print("|---|---|---|---|---|---|---|")
    for parallel in [int(p) for p in args.parallel.split(",")]:
        r = one(args.questions, parallel, args.latency)
        print(
            f"| {r['cells']} | {parallel} | {r['wall']:.1f} s | {r['ideal']:.1f} s | "
            f"{r['ratio']:.2f} | {r['overhead_per_cell']:.2f} s | {r['median_run']:.2f} s |",
            flush=True,
        )


if __name__ == "__main__":
    main()
