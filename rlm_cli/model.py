"""`rlm model` (filled in by its owner)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("model", help="(not yet available)")
    parser.set_defaults(func=lambda args: parser.error("not yet available"))
