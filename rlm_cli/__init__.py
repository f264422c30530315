"""The `rlm` console script: a composition root over rlm_engine and storage.

Each sub-command lives in its own module exposing `register(subparsers)`, which adds its parser
(its help from `COMMANDS`) and sets `func(args) -> int` as the default. Exit codes: 0 ok,
1 failed, 2 bad usage.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NamedTuple


class Command(NamedTuple):
    module: str
    help: str


COMMANDS = {
    "ask": Command("rlm_cli.ask", "Ask a question of files or directories."),
    "chat": Command("rlm_cli.chat", "Ask many questions of one corpus in a terminal."),
    "runs": Command("rlm_cli.runs", "list, show and export saved runs"),
    "model": Command("rlm_cli.model", "Download and check the offline models."),
    "eval": Command("rlm_cli.evaluate", "evaluate question sets under configurations"),
}


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """Every command's parser; given the command line, only the command it names is built in
    full. The other modules would cost ~50 ms to import before `rlm ask`'s first request; a name
    and its help are all that `rlm --help` shows of them."""
    chosen = _named_command(argv) if argv is not None else None
    parser = argparse.ArgumentParser(
        prog="rlm", description="Ask questions of large corpora with Recursive Language Models."
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name, command in COMMANDS.items():
        if chosen in (None, name):
            importlib.import_module(command.module).register(subparsers)
        else:
            subparsers.add_parser(name, help=command.help)
    return parser


def _named_command(argv: Sequence[str]) -> str | None:
    """The command the command line names (its first word), None if it names none."""
    first = next((arg for arg in argv if not arg.startswith("-")), None)
    return first if first in COMMANDS else None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
