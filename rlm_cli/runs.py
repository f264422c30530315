"""`rlm runs list | show RUN_ID | export RUN_ID | import FILE`: the runs `rlm ask` and the app
saved.

Exit codes: 0 ok, 1 unknown run or database failure (with a message on stderr), 2 bad usage
(including a FILE that is not a valid run export).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlm_cli import COMMANDS
from rlm_cli import sources as cli_sources
from rlm_cli.terminal import for_terminal, json_for_terminal
from rlm_engine.errors import RLMError
from rlm_engine.events import (
    CitationChecked,
    CodeExecuted,
    Event,
    FinalAnswer,
    GuardFired,
    MethodChosen,
    Notice,
    PassagesFound,
    RootResponse,
    RunFinished,
    RunStarted,
    SubCallFinished,
    SubCallStarted,
)

if TYPE_CHECKING:
    from storage import CorpusInfo, Database, RunSummary


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("runs", help=COMMANDS["runs"].help)
    commands = parser.add_subparsers(dest="runs_command", required=True)

    listing = commands.add_parser("list", help="saved runs, newest first")
    listing.add_argument("--limit", type=_bounded(1, MAX_LIMIT), default=20, metavar="N")
    listing.add_argument("--offset", type=_bounded(0, MAX_OFFSET), default=0, metavar="N")
    listing.add_argument("--status", help="completed, limit, failed, cancelled, interrupted, ...")
    listing.add_argument("--model", help="root or sub model name")
    listing.add_argument("--search", metavar="TEXT", help="text in the question or the answer")
    listing.add_argument("--corpus", metavar="NAME_OR_ID", help="runs asked of this corpus")
    listing.set_defaults(func=_list)

    show = commands.add_parser("show", help="one run's whole trace")
    show.add_argument("run_id", metavar="RUN_ID")
    show.set_defaults(func=_show)

    export = commands.add_parser("export", help="one run as JSON that later versions can read")
    export.add_argument("run_id", metavar="RUN_ID")
    export.add_argument("-o", "--output", type=Path, metavar="FILE", help="default: stdout")
    export.set_defaults(func=_export)

    importing = commands.add_parser("import", help="store a run exported by `rlm runs export`")
    importing.add_argument("file", type=Path, metavar="FILE")
    importing.set_defaults(func=_import)

    for sub in (listing, show, export, importing):
        sub.add_argument(
            "--db", metavar="URL", help="database URL (default: RLM_DB_URL or data dir)"
        )
    for sub in (listing, show):
        sub.add_argument("--json", action="store_true", help="print JSON")


MAX_LIMIT = 1_000_000  # runs listed at once
MAX_OFFSET = 2**62  # below SQLite's and PostgreSQL's largest integer


def _bounded(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number in [low, high]; argparse names the flag and exits 2."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low:,} and {high:,}")
        return value

    return parse


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def _with_db(args: argparse.Namespace, action: Callable[[Database], int]) -> int:
    from rlm_engine.paths import default_db_url
    from storage import Database

    try:
        with Database.open(args.db or default_db_url()) as db:
            return action(db)
    except RLMError as exc:
        return _fail(str(exc))
    except BrokenPipeError:  # `rlm runs show X | head`: the reader left, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _list(args: argparse.Namespace) -> int:
    def action(db: Database) -> int:
        from storage import RunFilter

        corpus_id = None
        if args.corpus is not None:
            corpus_id, problem = find_corpus(db.list_corpora(), args.corpus)
            if problem:
                return _fail(f"{problem} in {db.url}.")
        only = RunFilter(
            corpus_id=corpus_id, status=args.status, model=args.model, text=args.search
        )
        runs = db.list_runs(
            only,
            limit=args.limit,
            offset=args.offset,
        )
        if args.json:
            print(json.dumps([asdict(run) for run in runs], indent=2))
        else:
            print(for_terminal(format_run_list(runs)))
        return 0

    return _with_db(args, action)


def find_corpus(corpora: list[CorpusInfo], wanted: str) -> tuple[int | None, str | None]:
    """(corpus id, None), or (None, why not): an id, else an exact name, else a name in any
    case; a name that several corpora share asks for the id."""
    if wanted.isdigit() and any(c.id == int(wanted) for c in corpora):
        return int(wanted), None
    for same in (lambda c: c.name == wanted, lambda c: c.name.casefold() == wanted.casefold()):
        found = [c.id for c in corpora if same(c)]
        if len(found) == 1:
            return found[0], None
        if found:
            ids = ", ".join(map(str, sorted(found)))
            return None, f"several corpora are named {wanted!r} (ids {ids}): give the id"
    return None, f"no corpus named or numbered {wanted!r}"


def _show(args: argparse.Namespace) -> int:
    def action(db: Database) -> int:
        run = db.get_run(args.run_id)
        if run is None:
            return _fail(f"no run {args.run_id!r} in {db.url}; see `rlm runs list`.")
        events = db.run_events(args.run_id)
        if args.json:
            summary = asdict(run)
            sources = db.run_sources(args.run_id)
            stored = [event.to_dict() for event in events]
            print(json.dumps({"run": summary, "events": stored, "sources": sources}, indent=2))
        else:
            sources = db.run_sources(args.run_id)
            print(for_terminal(format_trace(run, events, sources)))  # no escapes obeyed
        return 0

    return _with_db(args, action)


def _export(args: argparse.Namespace) -> int:
    def action(db: Database) -> int:
        data = db.export_run(args.run_id)
        if data is None:
            return _fail(f"no run {args.run_id!r} in {db.url}; see `rlm runs list`.")
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        if args.output is None:
            sys.stdout.write(json_for_terminal(text))
            return 0
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as exc:
            return _fail(f"cannot write {args.output}: {exc.strerror}. Choose another -o FILE.")
        print(f"exported run {args.run_id} to {args.output}", file=sys.stderr)
        return 0

    return _with_db(args, action)


def _import(args: argparse.Namespace) -> int:
    """Prints the new run's id; a file that is not a valid export exits 2 and stores nothing."""
    from storage.errors import ExportFormatError

    try:
        data = json.loads(args.file.read_text(encoding="utf-8"))
    except OSError as exc:
        return _bad_file(f"cannot read {args.file}: {exc.strerror or exc}.")
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else "not JSON"
        return _bad_file(f"{args.file} is {why}: it is not a run export of `rlm runs export`.")

    def action(db: Database) -> int:
        try:
            run_id = db.import_run(data)
        except ExportFormatError as exc:
            return _bad_file(f"{args.file}: {exc}")
        run = db.get_run(run_id)
        joined = f", asked of corpus {run.corpus_name!r}" if run and run.corpus_name else ""
        print(for_terminal(f"imported run {run_id} into {db.url}{joined}"), file=sys.stderr)
        print(run_id)
        return 0

    return _with_db(args, action)


def _bad_file(message: str) -> int:
    print(f"error: {for_terminal(message)}", file=sys.stderr)
    return 2


# formatting ---------------------------------------------------------------------------------


def _when(seconds: float | None) -> str:
    return "-" if seconds is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


def _cost(cost: float | None) -> str:
    return "unknown" if cost is None else f"${cost:.4f}"


def _one_line(text: str | None, width: int) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def format_run_list(runs: list[RunSummary]) -> str:
    if not runs:
        return "No saved runs."
    lines = [
        f"{'RUN ID':32}  {'STARTED':16}  {'STATUS':11}  {'MODEL':20}  "
        f"{'TOKENS':>9}  {'COST':>9}  QUESTION"
    ]
    for run in runs:
        tokens = run.input_tokens + run.output_tokens
        lines.append(
            f"{run.run_id:32}  {_when(run.started_at):16}  {run.status:11}  "
            f"{_one_line(run.root_model, 20):20}  {tokens:>9,}  {_cost(run.cost_usd):>9}  "
            f"{_one_line(run.question, 60)}"
        )
    return "\n".join(lines)


def _block(text: str | None, indent: str) -> list[str]:
    return [indent + "  " + line for line in (text or "").splitlines() or [""]]


def _usage(event: RootResponse | SubCallFinished) -> str:
    return (
        f"{event.usage.input_tokens:,} in / {event.usage.output_tokens:,} out, "
        f"{_cost(event.cost_usd)}, {event.elapsed_s:.2f} s"
    )


def event_lines(event: Event) -> list[str]:
    """One event of a trace as `rlm runs show` and `rlm chat`'s /trace print it."""
    indent = "    " * event.depth
    match event:
        case RunStarted() if event.depth:
            return [f"{indent}== child RLM for call {event.parent_call_id}: {event.question}"]
        case RootResponse():
            label = "Forced answer" if event.forced else f"Iteration {event.iteration}"
            head = f"{indent}--- {label} [{event.model}] {_usage(event)}"
            return [head, *_block(event.text, indent)]
        case CodeExecuted():
            head = f"{indent}  > code block {event.block_index + 1} "
            head += f"({event.elapsed_s:.2f} s, {event.output_chars:,} chars out)"
            lines = [head, *_block(event.code, indent + "  "), f"{indent}    output:"]
            lines += _block(event.output, indent + "  ")
            if event.error:
                lines.append(f"{indent}    error: {event.error}")
            if event.restarted:
                lines.append(f"{indent}    (the REPL was restarted: variables were lost)")
            return lines
        case SubCallStarted():
            head = f"{indent}  > sub-call {event.call_id} [{event.kind} {event.model}]"
            return [head, f"{indent}    prompt:", *_block(event.prompt, indent + "    ")]
        case SubCallFinished():
            lines = [f"{indent}  < sub-call {event.call_id} done: {_usage(event)}"]
            if event.error:
                return [*lines, f"{indent}    error: {event.error}"]
            return [*lines, f"{indent}    response:", *_block(event.response, indent + "    ")]
        case GuardFired():
            return [f"{indent}  ! guard {event.guard} ({event.action})"]
        case MethodChosen():
            return [f"{indent}method: {event.reason}"]
        case Notice():
            return [f"{indent}  ! {event.message}"]
        case PassagesFound() | CitationChecked():
            return cli_sources.event_lines(event, indent)
        case FinalAnswer():
            return [f"{indent}FINAL ({event.source}):", *_block(event.answer, indent)]
        case RunFinished() if event.depth:
            return [f"{indent}== child RLM {event.status}: {_one_line(event.answer, 80)}"]
    return []


def format_trace(
    run: RunSummary, events: list[Event], sources: list[dict[str, Any]] | None = None
) -> str:
    """The whole run, human readable: header, then every event in order, then the outcome."""
    sub = f", sub {run.sub_provider}:{run.sub_model}" if run.sub_model else ""
    lines = [
        f"Run {run.run_id}: {run.status}",
        f"Question: {run.question}",
        f"Models: root {run.root_provider}:{run.root_model}{sub}",
        f"Started {_when(run.started_at)}; {run.iterations} iterations, {run.sub_calls} sub-calls, "
        f"{run.input_tokens:,} in / {run.output_tokens:,} out tokens, cost {_cost(run.cost_usd)}"
        + (f", {run.elapsed_s:.1f} s" if run.elapsed_s is not None else ""),
        "",
    ]
    for event in events:
        lines.extend(event_lines(event))
    lines += ["", f"Status: {run.status}"]
    if run.error:
        lines.append(f"Error: {run.error}")
    lines.append(f"Answer: {run.answer if run.answer is not None else '(none)'}")
    if run.answer is not None and sources is not None:
        lines += ["", *cli_sources.source_lines(sources)]
    return "\n".join(lines)
