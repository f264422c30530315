"""`rlm chat --context PATH...`: one corpus, one long-lived REPL, many questions, in a terminal.

Each run is shown live on stderr as it happens (iterations, code, sub-calls, running cost; `--quiet`
hides it) and saved like `rlm ask`'s; answers go to stdout. Commands start with `/` (`/help`).
When stdin is not a terminal each line is a question, so scripts can drive it.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from rlm_cli import COMMANDS
from rlm_cli.terminal import for_terminal
from rlm_engine.config import Credentials, RunConfig
from rlm_engine.events import (
    CodeExecuted,
    Event,
    Notice,
    RootResponse,
    RunFinished,
    SourcesFound,
    SubCallFinished,
)
from rlm_engine.trace import Running

if TYPE_CHECKING:
    import types

    from rlm_cli.recording import DeferredRecorder
    from rlm_engine.documents import Document
    from rlm_engine.loop import RunResult
    from rlm_engine.session import Session
    from storage.subcalls import SubCallStore

HELP = """commands:
  /sources  the last answer's sources       /trace  the last run's whole trace
  /cost     this chat's totals              /vars   the REPL's variables
  /new      a fresh REPL (variables gone)   /quit   leave (Ctrl+D too)
Ctrl+C stops the current run and keeps the chat."""


def register(subparsers: argparse._SubParsersAction) -> None:
    from rlm_cli.ask import add_run_options

    p = subparsers.add_parser("chat", help=COMMANDS["chat"].help)
    add_run_options(p)
    p.add_argument("--quiet", action="store_true", help="hide the live execution log")
    p.set_defaults(func=chat)


@dataclass
class Totals:
    """What this chat's runs added up to."""

    runs: int = 0
    iterations: int = 0
    sub_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0
    elapsed_s: float = 0.0

    def add(self, result: RunResult) -> None:
        self.runs += 1
        self.iterations += result.iterations
        self.sub_calls += result.sub_calls
        self.input_tokens += result.input_tokens
        self.output_tokens += result.output_tokens
        self.elapsed_s += result.elapsed_s
        if self.cost_usd is not None and result.cost_usd is not None:
            self.cost_usd += result.cost_usd
        else:
            self.cost_usd = None  # one unknown price makes the total unknown, never $0

    def describe(self) -> str:
        cost = "unknown cost" if self.cost_usd is None else f"${self.cost_usd:.4f}"
        return (
            f"{self.runs} runs, {self.iterations} iterations, {self.sub_calls} sub-calls, "
            f"{self.input_tokens:,} in / {self.output_tokens:,} out tokens, {cost}, "
            f"{self.elapsed_s:.1f} s"
        )


@dataclass
class Chat:
    """The chat's state: the session (REPL), the last run's events, and the totals."""

    corpus_context: str | list[str]
    config: RunConfig
    credentials: Credentials
    recorder: DeferredRecorder | None
    log: TextIO | None
    out: TextIO = sys.stdout
    session: Session | None = None
    last_events: list[Event] = field(default_factory=list)
    totals: Totals = field(default_factory=Totals)
    running: Running = field(default_factory=Running)  # the current run's totals so far
    hidden_paths: tuple[str, ...] = ()  # host directories the sandbox hides (the database's)
    documents: list[Document] = field(default_factory=list)  # names and pages, for the sources
    sub_call_cache: SubCallStore | None = None  # with --sub-call-cache

    def ensure_session(self) -> Session:
        if self.session is None:
            from rlm_engine.session import Session

            if self.recorder is not None:  # one REPL, one conversation in History
                self.recorder.conversation_id = uuid.uuid4().hex
            self.session = Session(
                self.corpus_context,
                self.credentials,
                hidden_paths=self.hidden_paths,
                documents=self.documents or None,
                sub_call_cache=self.sub_call_cache,
            )
        return self.session

    def new_session(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

    def ask(self, question: str) -> RunResult:
        session = self.ensure_session()
        self.last_events = []
        self.running = Running()
        cancel = threading.Event()

        def on_event(event: Event) -> None:
            self.last_events.append(event)
            if self.recorder is not None:
                self.recorder(event)
            if self.log is not None:
                self.show_live(event)

        previous = signal.signal(signal.SIGINT, lambda *_: cancel.set())
        try:
            result = session.run(question, self.config, on_event=on_event, cancel=cancel)
        finally:
            signal.signal(signal.SIGINT, previous)
        self.totals.add(result)
        return result

    def show_live(self, event: Event) -> None:
        """rlm-rs's execution log: one or a few lines per event, with the running cost."""
        assert self.log is not None
        indent = "  " * event.depth
        self.running.add(event)
        cost = self.running.totals.cost_usd
        running = "cost unknown" if cost is None else f"${cost:.4f}"
        lines: list[str] = []
        if isinstance(event, RootResponse):
            from rlm_engine.parsing import find_code_blocks

            label = "forced answer" if event.forced else f"iteration {event.iteration}"
            lines.append(
                f"{indent}[{label}] {event.usage.input_tokens:,}+{event.usage.output_tokens:,} "
                f"tokens, {event.elapsed_s:.1f} s, {running} so far"
            )
            for code in find_code_blocks(event.text):  # shown before and while it runs
                code_lines = code.splitlines()
                lines += [f"{indent}  | {line}" for line in code_lines[:12]]
                if len(code_lines) > 12:
                    lines.append(f"{indent}  | ... ({len(code_lines) - 12} more lines)")
        elif isinstance(event, CodeExecuted):
            status = f"error: {event.error}" if event.error else f"{event.output_chars:,} chars"
            lines.append(f"{indent}  -> {status}, {event.elapsed_s:.1f} s")
            lines += [f"{indent}     {line}" for line in event.output.splitlines()[:6]]
        elif isinstance(event, SubCallFinished):
            what = (
                f"error: {event.error}" if event.error else f"{len(event.response or ''):,} chars"
            )
            lines.append(f"{indent}  sub-call {event.call_id}: {what}")
        elif isinstance(event, Notice):
            lines.append(f"{indent}  note: {event.message}")
        elif isinstance(event, RunFinished) and event.depth == 0:
            lines.append(
                f"{event.status}: {event.iterations} iterations, {event.sub_calls} sub-calls, "
                f"{running}, {event.elapsed_s:.1f} s"
            )
        for line in lines:
            print(_safe(line), file=self.log, flush=True)

    def command(self, line: str) -> bool:
        """Run a /command; False when the chat should end."""
        name = line.split()[0].lower()
        if name in ("/quit", "/exit", "/q"):
            return False
        if name == "/help":
            print(HELP, file=self.out)
        elif name == "/cost":
            print(self.totals.describe(), file=self.out)
        elif name == "/vars":
            variables = self.session.variables() if self.session is not None else {}
            if not variables:
                print("(no variables yet)", file=self.out)
            for key, value in variables.items():
                print(_safe(f"{key} = {value}"), file=self.out)
        elif name == "/new":
            self.new_session()
            print("A fresh REPL: earlier variables are gone.", file=self.out)
        elif name == "/trace":
            self.print_trace()
        elif name == "/sources":
            self.print_sources()
        else:
            print(f"unknown command {name}; /help lists them", file=self.out)
        return True

    def print_trace(self) -> None:
        from rlm_cli.runs import event_lines

        if not self.last_events:
            print("(no run yet)", file=self.out)
        for event in self.last_events:
            for line in event_lines(event):
                print(_safe(line), file=self.out)

    def print_sources(self, stream: TextIO | None = None) -> None:
        """The last answer's numbered sources (on stdout for /sources; with the log after each
        answer, so that stdout stays one answer per question)."""
        out = stream or self.out
        found = next(
            (e for e in reversed(self.last_events) if isinstance(e, SourcesFound) and not e.depth),
            None,
        )
        if found is None:
            print("(no answer yet)", file=out)
        elif not found.sources:
            print("No passage of the corpus contains this answer.", file=out)
        for number, source in enumerate(found.sources if found else [], 1):
            page = f", page {source['page']}" if source.get("page") else ""
            quote = " ".join(source["text"].split())
            quote = quote if len(quote) <= 160 else quote[:159] + "…"
            print(_safe(f"[{number}] {source['document']}{page}: {quote}"), file=out)

    def close(self) -> None:
        self.new_session()


def _safe(text: str) -> str:
    """Model-controlled text for a terminal: the CLI's one rule (rlm_cli.terminal)."""
    return for_terminal(text)


def chat(args: argparse.Namespace) -> int:
    from rlm_cli.ask import set_up
    from rlm_cli.recording import private_dirs_for

    setup = set_up(args)
    if setup is None:
        return 2
    corpus, config = setup.corpus, setup.config
    interactive = sys.stdin.isatty()
    state = Chat(
        corpus.context,
        config,
        setup.credentials,
        setup.recorder,
        log=None if args.quiet else sys.stderr,
        hidden_paths=private_dirs_for(args.db),
        documents=list(corpus.documents),
        sub_call_cache=setup.cache,
    )
    if interactive:
        _setup_readline()
        print(
            f"{len(corpus.documents)} documents, {sum(len(d.text) for d in corpus.documents):,} "
            f"characters; {config.root.label}. /help for commands.",
            file=sys.stderr,
        )
    try:
        return _loop(state, interactive)
    finally:
        state.close()
        unsaved, why = setup.close()
        if unsaved:
            reason = _safe(why or "reason unknown")
            print(f"warning: {unsaved} events could not be saved ({reason}).", file=sys.stderr)


def _loop(state: Chat, interactive: bool) -> int:
    failed = 0
    while True:
        try:
            line = input("rlm> ") if interactive else sys.stdin.readline()
        except KeyboardInterrupt:
            print(file=sys.stderr)
            continue
        except EOFError:
            return 0
        if not interactive and line == "":
            return 1 if failed else 0
        line = line.strip()
        if not line:
            continue
        if line.startswith("/"):
            if not state.command(line):
                return 0
            continue
        result = state.ask(line)
        if result.status in ("completed", "limit"):
            print(_safe(result.answer or ""), file=state.out, flush=True)
            if state.log is not None:  # sources follow the answer, with the execution log
                state.print_sources(state.log)
        elif result.status == "cancelled":
            print("(stopped)", file=sys.stderr)
        else:
            failed += 1
            print(_safe(f"error: {result.error}"), file=sys.stderr)


def _setup_readline() -> None:
    """Line editing and a history kept in the data directory, where readline exists."""
    try:
        import readline
    except ImportError:
        return
    import atexit

    from rlm_engine.paths import data_dir

    path = Path(data_dir()) / "chat_history"
    with contextlib.suppress(OSError):
        readline.read_history_file(path)
    readline.set_history_length(1000)
    atexit.register(_save_history, readline, path)


def _save_history(readline: types.ModuleType, path: Path) -> None:
    with contextlib.suppress(OSError):
        readline.write_history_file(path)
