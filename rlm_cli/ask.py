"""`rlm ask`: one question over files or directories, headless. Contract: docs/contract.md.

`--timeout` is the run's wall-time budget; `--exec-timeout` limits one code block. Extensions
beyond the contract: --max-tokens, --output-limit, --max-history, --prompt-variant,
--request-timeout, --price, --method (default rlm: programs that drive the CLI rely on an RLM run),
--window-tokens, --direct-threshold. `--json` adds "method" ("rlm" or "direct").
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, get_args

from rlm_cli import COMMANDS
from rlm_cli import sources as cli_sources
from rlm_cli.recording import open_recorder, open_sub_call_cache, private_dirs_for
from rlm_cli.terminal import for_terminal, json_for_terminal
from rlm_engine.config import (
    Budgets,
    Credentials,
    GuardConfig,
    Method,
    ModelSpec,
    PromptVariant,
    RunConfig,
)
from rlm_engine.defaults import default_provider, suggested_model
from rlm_engine.events import (
    CodeExecuted,
    Event,
    GuardFired,
    MethodChosen,
    Notice,
    RootResponse,
    RunFinished,
    SourcesFound,
)
from rlm_engine.providers.registry import provider_names
from rlm_engine.text import valid_tree
from rlm_engine.warm import warm_up

if TYPE_CHECKING:
    from rlm_cli.recording import DeferredRecorder
    from rlm_engine.corpus import Corpus
    from rlm_engine.held import HeldContext
    from storage.subcalls import SubCallStore


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("ask", help=COMMANDS["ask"].help)
    p.add_argument("question")
    add_run_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=ask)


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The corpus, model, budget and database options, shared by `rlm ask` and `rlm chat`."""
    p.add_argument("--context", nargs="+", required=True, metavar="PATH")
    p.add_argument("--provider", choices=provider_names())
    p.add_argument("--model")
    p.add_argument("--sub-provider", choices=provider_names())
    p.add_argument("--sub-model")
    p.add_argument("--base-url")
    p.add_argument("--sub-base-url")
    p.add_argument("--max-iterations", type=_positive_int, default=Budgets.max_iterations)
    p.add_argument("--max-depth", type=_positive_int, default=Budgets.max_depth)
    p.add_argument(
        "--max-sandboxes",
        type=_positive_int,
        default=RunConfig.max_sandboxes,
        metavar="N",
        help="live sandboxes in the run's tree of child RLMs, the top-level one included",
    )
    p.add_argument("--max-sub-calls", type=_non_negative_int, default=Budgets.max_sub_calls)
    p.add_argument("--max-cost", type=_non_negative_float, metavar="USD")
    p.add_argument("--max-tokens", type=_positive_int)
    p.add_argument("--timeout", type=_seconds, metavar="S", help="wall-time budget of the run")
    p.add_argument("--exec-timeout", type=_seconds, metavar="S", default=RunConfig.exec_timeout_s)
    p.add_argument(
        "--request-timeout", type=_seconds, metavar="S", default=RunConfig.request_timeout_s
    )
    p.add_argument(
        "--output-limit", type=_positive_int, default=RunConfig.output_limit_chars, metavar="CHARS"
    )
    p.add_argument(
        "--max-history",
        type=_positive_int,
        metavar="CHARS",
        help="past this size the oldest REPL outputs are elided (default: by prompt variant)",
    )
    p.add_argument(
        "--price",
        type=_price,
        action="append",
        metavar="MODEL=IN,OUT",
        help="USD per million input and output tokens of MODEL (repeatable)",
    )
    p.add_argument(
        "--prompt-variant", choices=get_args(PromptVariant), default=RunConfig.prompt_variant
    )
    p.add_argument("--no-sub-calls", action="store_true")
    p.add_argument(
        "--sub-call-cache",
        action="store_true",
        help="answer an identical sub-call (model, prompt, parameters) over the same corpus from "
        "the database, at $0 (kept in --db or the default database, also with --no-save)",
    )
    p.add_argument(
        "--method",
        choices=get_args(Method),
        default=RunConfig.method,
        help="rlm (default); direct: the root model reads the corpus itself (cut to its window); "
        "auto: direct when the corpus fits the root model's window, else rlm",
    )
    p.add_argument(
        "--window-tokens",
        type=_positive_int,
        metavar="TOKENS",
        help="the root model's context window (default: known for catalogued models)",
    )
    p.add_argument(
        "--direct-threshold",
        type=_non_negative_int,
        metavar="TOKENS",
        help="auto reads directly up to this many corpus tokens (default: the window less "
        f"{RunConfig.answer_margin_tokens:,} for the answer)",
    )
    p.add_argument(
        "--fallback",
        choices=("off", "offer", "answer"),
        help="when a run stalls, the engine's fallback answers (answer), is shown to the model "
        "(offer) or does not run (off); default: answer for the small prompt, offer otherwise",
    )
    p.add_argument(
        "--no-stall-guards",
        action="store_true",
        help="no answer gates, idle limit or stall rule (and so no fallback)",
    )
    save = p.add_mutually_exclusive_group()
    save.add_argument("--db", metavar="URL")
    save.add_argument("--no-save", action="store_true")


Number = TypeVar("Number", int, float)


def _positive_int(text: str) -> int:
    value = _number(text, int, "a whole number")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = _number(text, int, "a whole number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = _number(text, float, "a number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


def _seconds(text: str) -> float:
    value = _number(text, float, "a number of seconds")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text}")
    return value


def _number(text: str, kind: type[Number], what: str) -> Number:
    """`text` as an int or a finite float, or a usage error saying what was expected."""
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, not {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be {what}, not {text!r}")
    return value


def _price(text: str) -> tuple[str, tuple[float, float]]:
    """`MODEL=IN,OUT`: USD per million input and output tokens."""
    model, _, prices = text.rpartition("=")
    parts = prices.split(",")
    try:
        if not model or len(parts) != 2:
            raise argparse.ArgumentTypeError
        return model, (_non_negative_float(parts[0]), _non_negative_float(parts[1]))
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"must be MODEL=IN,OUT with prices of 0 or more (e.g. gpt-x=2.5,10), not {text!r}"
        ) from None


def build_config(args: argparse.Namespace, credentials: Credentials) -> RunConfig:
    provider = args.provider or default_provider(credentials)
    root = ModelSpec(provider, args.model or suggested_model(provider), args.base_url)
    sub = None
    if args.sub_provider or args.sub_model or args.sub_base_url:
        sub_provider = args.sub_provider or provider
        same = sub_provider == provider
        sub_model = args.sub_model or (root.model if same else suggested_model(sub_provider))
        sub_url = args.sub_base_url or (args.base_url if same else None)
        sub = ModelSpec(sub_provider, sub_model, sub_url)
    budgets = Budgets(
        max_iterations=args.max_iterations,
        max_depth=args.max_depth,
        max_sub_calls=args.max_sub_calls,
        max_tokens=args.max_tokens,
        max_cost_usd=args.max_cost,
        max_time_s=args.timeout,
    )
    return RunConfig(
        root=root,
        sub=sub,
        budgets=budgets,
        exec_timeout_s=args.exec_timeout,
        output_limit_chars=args.output_limit,
        sub_calls_enabled=not args.no_sub_calls,
        prompt_variant=args.prompt_variant,
        price_overrides=dict(args.price or []),
        request_timeout_s=args.request_timeout,
        max_history_chars=args.max_history,
        max_sandboxes=args.max_sandboxes,
        method=args.method,
        window_tokens=args.window_tokens,
        direct_threshold_tokens=args.direct_threshold,
        sub_call_cache=getattr(args, "sub_call_cache", False),
        guards=_guards(args),
    )


def _guards(args: argparse.Namespace) -> GuardConfig:
    """--fallback and --no-stall-guards; the other guards keep their defaults."""
    if args.no_stall_guards:
        return GuardConfig(
            final_needs_code=False,
            final_needs_sub_call=False,
            max_idle_replies=0,
            stall_repeats=0,
            stall_iterations=0,
            fallback="off",
        )
    return GuardConfig(fallback=args.fallback)


def load_context_args(args: argparse.Namespace) -> Corpus | None:
    """The --context corpus, its problems said on stderr; None when no document could be read."""
    from rlm_engine.corpus import load_paths

    corpus = load_paths(args.context)
    for problem in corpus.problems:
        print(f"warning: {for_terminal(problem.message)}", file=sys.stderr)
    if not corpus.documents:
        print("error: no readable document in --context", file=sys.stderr)
        return None
    return corpus


@dataclass
class Setup:
    """What `rlm ask` and `rlm chat` open before their first question, from the same options.
    `held`: the corpus's texts (`corpus`'s documents keep none of their own when it spills)."""

    corpus: Corpus
    held: HeldContext
    credentials: Credentials
    config: RunConfig
    recorder: DeferredRecorder | None
    cache: SubCallStore | None
    _close_recorder: Callable[[], tuple[int, str]]
    _close_cache: Callable[[], object] | None
    spilling: threading.Thread | None = None  # writes `held` to its file (with `spill`)

    def close(self) -> tuple[int, str]:
        """Closes the recorder and the cache: (events not saved, why)."""
        unsaved = self._close_recorder()
        if self._close_cache is not None:
            self._close_cache()
        return unsaved


def set_up(args: argparse.Namespace, *, spill: bool = False) -> Setup | None:
    """The corpus, credentials, config, recorder and sub-call cache of a run's options; None when
    no document of --context could be read (said on stderr). With `spill`, the host keeps the
    texts in a file, not in memory (rlm_engine.held; written in a thread, `Setup.spilling`):
    the sandbox is sent them, the corpus is saved, and the checks read them, from there."""
    fix_malloc_thresholds()
    probe_platform()
    credentials = Credentials.from_env()
    config = build_config(args, credentials)
    warm_up(config)  # the SDK and the price table import while the corpus loads
    corpus = load_context_args(args)
    if corpus is None:
        return None
    from rlm_engine.held import HeldContext

    held = HeldContext(corpus.context)
    spilling = None
    if spill:
        corpus = without_texts(corpus)  # the held copy is then the only one
        spilling = held.spill_in_background()
    recorder, close_recorder = open_recorder(args, corpus, held)
    cache, close_cache = open_sub_call_cache(args) if config.sub_call_cache else (None, None)
    return Setup(
        corpus, held, credentials, config, recorder, cache, close_recorder, close_cache, spilling
    )


def without_texts(corpus: Corpus) -> Corpus:
    """The corpus's documents (names, pages, sha256) without their texts, which the HeldContext
    has: no reference to them is left here to keep them in memory."""
    from dataclasses import replace

    return replace(corpus, documents=tuple(replace(d, text="") for d in corpus.documents))


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
MALLOC_THRESHOLD = 128 * 1024  # glibc's default for both, kept fixed


def fix_malloc_thresholds() -> bool:
    """glibc's malloc raises its mmap threshold (up to 32 MiB) each time a mapped block is freed,
    and after that keeps the next large temporaries (the corpus read 1 MiB at a time, its pieces
    encoded for the sandbox and decoded for the database) in its heap, where memory freed stays
    resident. Fixing both thresholds at their defaults returns every block of 128 KiB or more to
    the OS when freed: ~2 MiB less at the peak of a 40M-character run (bench/README.md). False
    where there is no glibc (macOS, musl): nothing is changed."""
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(
        mallopt(M_MMAP_THRESHOLD, MALLOC_THRESHOLD) and mallopt(M_TRIM_THRESHOLD, MALLOC_THRESHOLD)
    )


def probe_platform() -> threading.Thread:
    """The providers' SDKs name the OS in a header of their first request: `platform.platform()`,
    ~20 ms (it runs `uname -p` and reads the interpreter's binary for its libc), once per process.
    Done in a thread from the start, beside the corpus's load: otherwise the first request waits
    for it, and spawns that child from a process holding the corpus beside a running sandbox (a
    poll of the tree's memory counts the child, until its exec, at its parent's size)."""
    import platform

    thread = threading.Thread(target=platform.platform, daemon=True, name="rlm-platform")
    thread.start()
    return thread


def ask(args: argparse.Namespace) -> int:
    setup = set_up(args, spill=True)
    if setup is None:
        return 2
    recorder = setup.recorder
    progress = _print_warnings if args.json else _print_progress

    sources: list[dict[str, Any]] = []

    def on_event(event: Event) -> None:
        if recorder is not None:
            recorder(event)
        if progress is not None:
            progress(event)
        if isinstance(event, SourcesFound):
            sources[:] = [{**s, "cited": n < event.cited} for n, s in enumerate(event.sources)]

    cancel = threading.Event()
    hidden = private_dirs_for(args.db)
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.set())
    try:
        from rlm_engine.session import run

        result = run(
            args.question,
            setup.held,
            setup.config,
            credentials=setup.credentials,
            on_event=on_event,
            cancel=cancel,
            hidden_paths=hidden,
            sub_call_cache=setup.cache,
            documents=setup.corpus.documents,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
        unsaved, why = setup.close()
        setup.held.close()
    lost = getattr(recorder, "lost", None)  # the database file was deleted or replaced
    if lost:
        print(
            f"warning: run {result.run_id} was NOT saved: {for_terminal(lost)}. Its answer is "
            "below; ask again to have it in the database.",
            file=sys.stderr,
        )
    elif unsaved:
        print(
            f"warning: {unsaved} events of run {result.run_id} could not be saved "
            f"({for_terminal(why) or 'reason unknown'}): the saved run is incomplete.",
            file=sys.stderr,
        )
    _print_result({**result.to_dict(), "sources": sources}, as_json=args.json)
    return 0 if result.status in ("completed", "limit") else 1


def _print_warnings(event: Event) -> None:
    """With --json: what the engine says about the run itself, before its first root turn (e.g. a
    cost budget it cannot enforce); stdout stays one JSON object."""
    if isinstance(event, Notice) and event.depth == 0 and event.iteration == 0:
        print(f"warning: {for_terminal(event.message)}", file=sys.stderr)


def _print_progress(event: Event) -> None:
    indent = "  " * event.depth
    if isinstance(event, RootResponse):
        label = "forced answer" if event.forced else f"iteration {event.iteration}"
        tokens = f"{event.usage.input_tokens}+{event.usage.output_tokens} tokens"
        if event.usage.cached_tokens:
            tokens += f" ({event.usage.cached_tokens} cached)"
        speed = f", {event.tokens_per_s:.1f} tok/s" if event.tokens_per_s else ""
        print(f"{indent}{label}: {tokens}, {event.elapsed_s:.1f} s{speed}", file=sys.stderr)
    elif isinstance(event, CodeExecuted):
        status = f"error: {event.error}" if event.error else f"{event.output_chars:,} chars out"
        status = for_terminal(status)
        print(f"{indent}  code block {event.block_index + 1}: {status}", file=sys.stderr)
    elif isinstance(event, MethodChosen):
        print(f"method: {for_terminal(event.reason)}", file=sys.stderr)
    elif isinstance(event, GuardFired):
        fired = f"guard {event.guard} ({event.action}): {event.message}"
        print(f"{indent}  {for_terminal(fired)}", file=sys.stderr)
    elif isinstance(event, Notice):
        print(f"{indent}  note: {for_terminal(event.message)}", file=sys.stderr)
    elif isinstance(event, RunFinished) and event.depth == 0:
        cost = "unknown cost" if event.cost_usd is None else f"${event.cost_usd:.4f}"
        print(
            f"{event.status}: {event.iterations} iterations, {event.sub_calls} sub-calls, "
            f"{event.input_tokens + event.output_tokens:,} tokens, {cost}, "
            f"{event.elapsed_s:.1f} s",
            file=sys.stderr,
        )


def _print_result(result: dict[str, Any], *, as_json: bool) -> None:
    result = valid_tree(result)  # lone surrogates in an answer become U+FFFD: stdout takes it
    if result["status"] == "cancelled":  # the contract knows three statuses; Ctrl-C is a failure
        result = {**result, "status": "failed"}
    if as_json:
        out = {k: result[k] for k in _JSON_KEYS}
        out["sources"] = cli_sources.as_json(result.get("sources") or [])  # an extension
        if result["status"] not in ("completed", "limit"):
            out["error"] = result["error"]
        if result.get("unsupported"):  # an extension, present only when true (like "error")
            out["unsupported"] = True
        if result.get("fallback"):  # an extension, present only when true: the engine's answer
            out["fallback"] = True
        print(json_for_terminal(json.dumps(out, ensure_ascii=False)))
    elif result["status"] in ("completed", "limit"):
        if result.get("unsupported"):
            print(f"warning: {UNSUPPORTED_WARNING}", file=sys.stderr)
        if result.get("fallback"):
            print(f"note: {FALLBACK_NOTE}", file=sys.stderr)
        print(for_terminal(result["answer"]))
        if result["answer"] is not None:
            lines = cli_sources.source_lines(result.get("sources") or [])
            print("\n" + for_terminal("\n".join(lines)))
    else:
        print(f"error: {for_terminal(result['error'])}", file=sys.stderr)


UNSUPPORTED_WARNING = (
    "the answer appears in no REPL output the model saw: it is unsupported (check it)"
)

FALLBACK_NOTE = (
    "the run stalled; this answer is the engine's fallback (the sub model read the corpus in "
    "chunks)"
)

_JSON_KEYS = (
    "run_id",
    "status",
    "answer",
    "iterations",
    "sub_calls",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "elapsed_s",
    "method",  # an extension: "rlm" or "direct"
    "cached_tokens",  # an extension: of input_tokens, read from the providers' prompt caches
    "cache_write_tokens",  # an extension: of input_tokens, written to them
)
