"""`rlm eval make | run | resume | list | show`: evaluations of question sets under configurations.

Exit codes: 0 the command did its job (an evaluation that ran, whatever its accuracy), 1 it
failed, 2 bad usage (a bad flag, a bad line of the set: named with its line number).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("eval", help="evaluate question sets under configurations")
    commands = parser.add_subparsers(dest="eval_command", required=True)

    make = commands.add_parser("make", help="write a built-in generated suite: corpus and set")
    make.add_argument("kind", metavar="KIND", help="needle, multi-needle, count, pairs, pdf-page")
    make.add_argument("--size", type=int, required=True, metavar="CHARS", help="8,000-4,000,000")
    make.add_argument("--seed", type=int, default=0, metavar="N")
    make.add_argument("--questions", type=int, default=10, metavar="N", help="default 10")
    make.add_argument("--out", type=Path, required=True, metavar="DIR")
    make.set_defaults(func=_make)


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
