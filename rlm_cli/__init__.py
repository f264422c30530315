"""The `rlm` console script: a composition root over rlm_engine and storage.

Each sub-command lives in its own module exposing `register(subparsers)`, which adds its parser and
sets `func(args) -> int` as the default. Exit codes: 0 ok, 1 failed, 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    from rlm_cli import ask, chat, evaluate, model, runs

    parser = argparse.ArgumentParser(
        prog="rlm", description="Ask questions of large corpora with Recursive Language Models."
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in (ask, chat, runs, model, evaluate):
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
