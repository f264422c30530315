"""`rlm eval make | run | resume | list | show`: evaluations of question sets under configurations.

Exit codes: 0 the command did its job (an evaluation that ran, whatever its accuracy), 1 it
failed, 2 bad usage (a bad flag, a bad line of the set: named with its line number).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rlm_cli import COMMANDS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("eval", help=COMMANDS["eval"].help)
    commands = parser.add_subparsers(dest="eval_command", required=True)

    make = commands.add_parser("make", help="write a built-in generated suite: corpus and set")
    make.add_argument("kind", metavar="KIND", help="needle, multi-needle, count, pairs, pdf-page")
    make.add_argument("--size", type=int, required=True, metavar="CHARS", help="8,000-4,000,000")
    make.add_argument("--seed", type=int, default=0, metavar="N")
    make.add_argument("--questions", type=int, default=10, metavar="N", help="default 10")
    make.add_argument("--out", type=Path, required=True, metavar="DIR")
    make.set_defaults(func=_make)

    from rlm_cli import eval_run
    from rlm_cli.ask import _non_negative_float, _positive_int

    run = commands.add_parser("run", help="run a question set under configurations")
    run.add_argument("set", metavar="SET", help="question set: .jsonl or .csv")
    run.add_argument("--context", nargs="+", required=True, metavar="PATH")
    run.add_argument(
        "--config",
        action="append",
        required=True,
        metavar="NAME:KEY=VALUE,...",
        help="a configuration: rlm ask's flags without dashes, plus method=rlm|direct",
    )
    run.add_argument("--parallel", type=_positive_int, default=4, metavar="N", help="per provider")
    run.add_argument("--repeat", type=_positive_int, default=1, metavar="K")
    run.add_argument("--max-cost", type=_non_negative_float, metavar="USD", help="whole evaluation")
    run.add_argument("--judge", metavar="KEY=VALUE,...", help="provider, model, base-url")
    run.add_argument("--name", help="default: the set's file name")
    run.set_defaults(func=eval_run.run)

    resume = commands.add_parser("resume", help="run the cells an evaluation has not done yet")
    resume.add_argument("eval_id", metavar="EVAL_ID")
    resume.set_defaults(func=eval_run.resume)

    listing = commands.add_parser("list", help="evaluations, newest first")
    listing.set_defaults(func=_list)

    show = commands.add_parser("show", help="one evaluation's results")
    show.add_argument("eval_id", metavar="EVAL_ID")
    show.add_argument("--csv", action="store_true", help="one row per cell, as CSV")
    show.set_defaults(func=_show)

    for sub in (run, resume, listing, show):
        sub.add_argument(
            "--db", metavar="URL", help="database URL (default: RLM_DB_URL or data dir)"
        )
        sub.add_argument("--json", action="store_true", help="print one JSON object")


def _usage(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _make(args: argparse.Namespace) -> int:
    from rlm_eval.suite import SuiteError, make_suite, write_suite

    try:
        suite = make_suite(args.kind, args.size, args.seed, args.questions)
    except SuiteError as exc:
        return _usage(str(exc))
    try:
        set_path = write_suite(suite, args.out)
    except OSError as exc:
        print(f"error: could not write the suite under {args.out}: {exc}", file=sys.stderr)
        return 1
    print(
        f"Wrote {len(suite.questions)} questions to {set_path} and {len(suite.files)} corpus "
        f"file(s) to {args.out / 'corpus'} ({args.kind}, about {args.size:,} characters, "
        f"seed {args.seed})."
    )
    corpus = args.out / "corpus"
    print(f"Run it: rlm eval run {set_path} --context {corpus} --config NAME:KEY=VALUE")
    return 0


def _list(args: argparse.Namespace) -> int:
    import json
    import time

    from rlm_cli.eval_run import with_db

    def action(db) -> int:
        rows = db.evals.list()
        if args.json:
            out = [
                {
                    "eval_id": e.id,
                    "name": e.name,
                    "status": e.status,
                    "configs": [c["name"] for c in e.configs],
                    "questions": len(e.questions),
                    "cells_done": e.n_cells,
                    "cells_total": e.total_cells,
                    "created_at": e.created_at,
                    "elapsed_s": round(e.elapsed_s, 3),
                }
                for e in rows
            ]
            print(json.dumps(out, ensure_ascii=False))
            return 0
        if not rows:
            print(f"no evaluations in {db.url}")
        for e in rows:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(e.created_at))
            names = ", ".join(c["name"] for c in e.configs)
            print(
                f"{e.id}  {when}  {e.status:<11} {e.n_cells:>4}/{e.total_cells:<4} cells  "
                f"{e.name}  [{names}]"
            )
        return 0

    return with_db(args, action)


def _show(args: argparse.Namespace) -> int:
    from rlm_cli.eval_run import failure, print_results, with_db

    def action(db) -> int:
        info = db.evals.get(args.eval_id)
        if info is None:
            return failure(f"no evaluation {args.eval_id} in {db.url}")
        if args.csv:
            from rlm_eval.results import to_csv

            sys.stdout.write(to_csv(info))
            return 0
        print_results(info, args.json)
        return 0

    return with_db(args, action)
