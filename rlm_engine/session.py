"""A session: one corpus loaded into one long-lived sandbox, asked one question after another.

Variables the model creates persist across follow-up questions because the sandbox does. The
corpus's source index (rlm_engine.sources) is built at its first look-up and kept too. Each
question is one `run_in_sandbox`: the run's shared state, its top-level RLM (rlm_engine.loop) and,
whatever happens, its RunFinished.
"""

from __future__ import annotations

import functools
import logging
import threading
import uuid
from collections.abc import Sequence
from typing import Any

from rlm_engine.caps import repl_caps
from rlm_engine.config import Credentials, RunConfig
from rlm_engine.held import HeldContext
from rlm_engine.loop import Context, RLMRun
from rlm_engine.outcome import Outcome, RunResult
from rlm_engine.sandbox import Sandbox
from rlm_engine.shared import EventCallback, RunShared
from rlm_engine.subcall_cache import SubCallCache, corpus_fingerprint
from rlm_engine.text import describe_error, valid_text

log = logging.getLogger(__name__)


class Session:
    """Owns the sandbox subprocess of one corpus. Close it (or use `with`) to stop the worker.

    `sub_call_cache`: where identical sub-calls are answered from, for runs whose config sets
    `sub_call_cache` (storage's `Database.sub_call_cache()`)."""

    def __init__(
        self,
        context: Context | HeldContext,
        credentials: Credentials | None = None,
        *,
        hidden_paths: tuple[str, ...] = (),
        documents: Sequence[Any] | None = None,
        sources: Any = True,
        sub_call_cache: SubCallCache | None = None,
    ) -> None:
        """`hidden_paths`: host directories the sandbox hides from model code (see Sandbox).
        `documents`: the corpus's documents (names, page offsets) in `context`'s order, so
        that sources name files and pages. `sources=False` skips provenance altogether; a
        CorpusIndex (rlm_engine.sources) is used as is (sessions of one corpus share one). A
        spilled `HeldContext` keeps the host's copy of the text in a file (rlm_engine.held)."""
        self.held = context if isinstance(context, HeldContext) else HeldContext(context)
        self.hidden_paths = tuple(hidden_paths)
        self.credentials = credentials or Credentials.from_env()
        self.sub_call_cache = sub_call_cache
        self._fingerprint: str | None = None
        self.documents = documents
        self.track_sources = sources is not False
        self._index: Any = None if isinstance(sources, bool) else sources
        self._sandbox: Sandbox | None = None
        self._lock = threading.Lock()  # one run at a time per sandbox

    def run(
        self,
        question: str,
        config: RunConfig,
        *,
        on_event: EventCallback | None = None,
        cancel: threading.Event | None = None,
        run_id: str | None = None,
    ) -> RunResult:
        """Run one question to the end (blocking). Call it from a worker thread in a UI."""
        with self._lock:
            cache = self.sub_call_cache if config.sub_call_cache else None
            if cache is not None and self._fingerprint is None:
                self._fingerprint = corpus_fingerprint(self.held.get())
            sandbox = self._ensure_sandbox(config)
            return run_in_sandbox(
                question,
                sandbox,
                self.held,
                config,
                credentials=self.credentials,
                on_event=on_event,
                cancel=cancel,
                run_id=run_id,
                sub_call_cache=cache,
                corpus=self._fingerprint,
                sources=self.index() if self.track_sources else None,
            )

    @property
    def context(self) -> Context:
        """The corpus's `context` (read back from its file if the host's copy was spilled)."""
        return self.held.get()

    def index(self) -> Any:
        """The corpus's CorpusIndex, made on first use and kept for the session's life; it
        reads the texts when first built (a run that looks nothing up never reads them)."""
        if self._index is None:
            from rlm_engine.sources import CorpusIndex, source_documents

            held, documents = self.held, self.documents
            self._index = CorpusIndex(lambda: source_documents(held.get(), documents))
        return self._index

    def _ensure_sandbox(self, config: RunConfig) -> Sandbox:
        if self._sandbox is None:
            sandbox = Sandbox(
                exec_timeout_s=config.exec_timeout_s,
                output_limit_chars=config.output_limit_chars,
                max_concurrency=config.max_concurrency,
                hidden_paths=self.hidden_paths,
            )
            sandbox.load_context(self.held, wait=False)  # the first request needs no worker
            self._sandbox = sandbox
        # A follow-up question may come with other settings: the output limit is per run.
        self._sandbox.output_limit_chars = config.output_limit_chars
        return self._sandbox

    def variables(self) -> dict[str, str]:
        """The REPL's variables as name -> repr; empty before the first run."""
        if self._sandbox is None:
            return {}
        with self._lock:
            return self._sandbox.var_reprs()

    def close(self) -> None:
        if self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def run(
    question: str,
    context: Context | HeldContext,
    config: RunConfig,
    *,
    credentials: Credentials | None = None,
    on_event: EventCallback | None = None,
    cancel: threading.Event | None = None,
    run_id: str | None = None,
    hidden_paths: tuple[str, ...] = (),
    documents: Sequence[Any] | None = None,
    sub_call_cache: SubCallCache | None = None,
) -> RunResult:
    """One question, one fresh sandbox, closed afterwards."""
    with Session(
        context,
        credentials,
        hidden_paths=hidden_paths,
        documents=documents,
        sub_call_cache=sub_call_cache,
    ) as session:
        return session.run(question, config, on_event=on_event, cancel=cancel, run_id=run_id)


def run_in_sandbox(
    question: str,
    sandbox: Sandbox,
    context: Context | HeldContext,
    config: RunConfig,
    *,
    credentials: Credentials,
    on_event: EventCallback | None = None,
    cancel: threading.Event | None = None,
    run_id: str | None = None,
    sources: Any = None,
    sub_call_cache: SubCallCache | None = None,
    corpus: str | None = None,
) -> RunResult:
    """Run one question in a sandbox whose `context` is already loaded. `sources`: a
    CorpusIndex of that context, to report the passages the run saw and its answer's sources.
    `corpus`: the context's fingerprint for the sub-call cache (computed here when needed)."""
    question = valid_text(question)  # e.g. from argv, decoded with surrogateescape
    held = context if isinstance(context, HeldContext) else HeldContext(context)
    if config.sub_call_cache and sub_call_cache is not None and corpus is None:
        corpus = corpus_fingerprint(held.get())
    # A session's next question may come with other caps; worked out at the first code block.
    sandbox.caps = functools.partial(repl_caps, config)
    if sources is not None:
        from rlm_engine.sources import SourceTracker

        sources = SourceTracker(sources, on_event)
    shared = RunShared(
        run_id or uuid.uuid4().hex,
        config,
        credentials,
        sources or on_event,
        cancel or threading.Event(),
        sub_call_cache=sub_call_cache,
        corpus=corpus or "",
    )
    shared.sources = sources
    run = RLMRun(shared, question=question, sandbox=sandbox, root_spec=config.root)
    try:
        outcome = run.execute(held.metadata(), held)
    except Exception as exc:  # an engine bug must still end the run with a RunFinished event
        log.exception("Run %s crashed", shared.run_id)
        outcome = Outcome("failed", error=f"Internal error: {describe_error(exc)}")
    finally:
        shared.close()
    return run.emit_finished(outcome)
