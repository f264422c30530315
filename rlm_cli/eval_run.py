"""`rlm eval run` and `rlm eval resume`: drive an evaluation, print progress to stderr and the
results to stdout (a table, or the --json object).

Exit codes: 0 the evaluation ran (completed, or stopped by its --max-cost cap: `limit`),
1 it failed or was stopped (Ctrl-C; `rlm eval resume` continues it), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rlm_engine.config import Credentials
from rlm_engine.errors import RLMError

if TYPE_CHECKING:
    from rlm_eval.runner import Progress
    from storage import Database
    from storage.evals import EvaluationInfo


def usage(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def failure(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def run(args: argparse.Namespace) -> int:
    from rlm_engine.corpus import load_paths
    from rlm_eval import service
    from rlm_eval.configs import ConfigError, judge_spec, parse_configs
    from rlm_eval.questions import SetError, parse_set

    path = Path(args.set)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return usage(f"cannot read the set {path}: {exc}")
    try:
        questions = parse_set(text, path.name)
    except SetError as exc:
        return usage(f"{path}: {exc}")
    credentials = Credentials.from_env()
    try:
        configs = parse_configs(args.config)
        judge = judge_spec(args.judge, credentials)
    except ConfigError as exc:
        return usage(str(exc))
    if judge is None and any(q.grader == "judge" for q in questions):
        first = next(q.id for q in questions if q.grader == "judge")
        return usage(f"question {first} is graded by a judge: give one with --judge KEY=VALUE,...")
    corpus = load_paths(args.context)
    for problem in corpus.problems:
        print(f"warning: {problem.message}", file=sys.stderr)
    if not corpus.documents:
        return usage("no readable document in --context")
    return with_db(
        args,
        lambda db: drive(
            db,
            service.create(
                db,
                name=args.name or path.stem,
                questions=questions,
                corpus_id=db.save_corpus(
                    service.corpus_name(corpus.documents), list(corpus.documents)
                ).id,
                configs=configs,
                judge=judge,
                parallel=args.parallel,
                repeat=args.repeat,
                max_cost_usd=args.max_cost,
            ),
            corpus.context,
            args,
        ),
    )


def resume(args: argparse.Namespace) -> int:
    from rlm_eval import service

    def action(db: Database) -> int:
        info = db.evals.get(args.eval_id)
        if info is None:
            return failure(f"no evaluation {args.eval_id} in {db.url}")
        if info.status == "running":
            return failure(f"evaluation {info.id} is running in another process")
        if len(info.cells) >= info.total_cells:
            print_results(info, args.json)
            return 0
        return drive(db, info.id, service.context_of(db, info), args)

    return with_db(args, action)


def with_db(args: argparse.Namespace, action: Callable[[Database], int]) -> int:
    from rlm_engine.paths import default_db_url
    from rlm_eval.configs import ConfigError
    from storage import Database

    try:
        with Database.open(args.db or default_db_url()) as db:
            return action(db)
    except (RLMError, ConfigError) as exc:  # e.g. a stored configuration this version refuses
        return failure(str(exc))


def drive(db: Database, eval_id: str, context: str | list[str], args: argparse.Namespace) -> int:
    """Run what is left of the evaluation; Ctrl-C (or SIGTERM) stops it, resumable."""
    from rlm_cli.recording import private_dirs_for
    from rlm_eval.runner import EvalRunner

    as_json = args.json

    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        runner = EvalRunner(
            db,
            eval_id,
            context,
            on_progress=print_progress,
            stop=stop,
            hidden_paths=private_dirs_for(args.db),
        )
        print(
            f"evaluation {eval_id}: {len(runner.todo)} of {runner.total} cells to run",
            file=sys.stderr,
        )
        status = runner.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    info = db.evals.get(eval_id)
    print_results(info, as_json)
    if status == "stopped":
        print(f"stopped: continue with `rlm eval resume {eval_id}`", file=sys.stderr)
    elif status == "failed":
        print(f"error: {info.error}", file=sys.stderr)
    return 0 if status in ("completed", "limit") else 1


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def print_progress(p: Progress) -> None:
    share = p.done / p.total if p.total else 1.0
    print(
        f"[{p.done}/{p.total}] {share:4.0%} · {p.passed} passed · ${p.spent_usd:.4f} · "
        f"{_clock(p.elapsed_s)} elapsed · ETA {_clock(p.eta_s)} · {p.last}",
        file=sys.stderr,
    )


def print_results(info: EvaluationInfo, as_json: bool) -> None:
    from rlm_eval.results import summarise, to_json

    if as_json:
        print(json.dumps(to_json(info), ensure_ascii=False))
        return
    print(f"evaluation {info.id} ({info.name}): {info.status}, {len(info.cells)} of "
          f"{info.total_cells} cells, {info.elapsed_s:.1f} s")  # fmt: skip
    head = f"{'configuration':<20} {'accuracy':>14} {'95% CI':>13} {'mean $':>9} "
    print(head + f"{'median s':>9} {'p90 s':>8} {'tokens':>10} {'sub-calls':>9} {'failed':>6}")
    for s in summarise(info):
        cost = "unknown" if s.cost_usd is None else f"{s.cost_usd:.4f}"
        med = "-" if s.median_elapsed_s is None else f"{s.median_elapsed_s:.2f}"
        p90 = "-" if s.p90_elapsed_s is None else f"{s.p90_elapsed_s:.2f}"
        print(
            f"{s.name[:20]:<20} {s.correct:>4}/{s.total:<4} {s.accuracy:>4.0%} "
            f"{s.ci95[0]:>6.0%}-{s.ci95[1]:<5.0%} {cost:>9} {med:>9} {p90:>8} "
            f"{s.input_tokens + s.output_tokens:>10,} {s.sub_calls:>9} {s.failed:>6}"
        )
