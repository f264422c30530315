"""The Python API: `RLM(root="openai:gpt-4.1", sub="openai:gpt-4.1-mini").ask(question, context)`.

A thin layer over `Session` for programs that want an answer and its figures, not an event stream.
Used as a context manager, an `RLM` keeps one REPL (and its variables) across questions about the
same context; otherwise each `ask` gets a fresh sandbox that is closed afterwards.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from rlm_engine.config import Budgets, Credentials, ModelSpec, RunConfig
from rlm_engine.errors import ConfigError, CorpusError
from rlm_engine.events import Event, SourcesFound
from rlm_engine.loop import RunResult

ContextInput = str | Sequence[str] | os.PathLike[str] | Sequence[os.PathLike[str]]


@dataclass(frozen=True)
class Result(RunResult):
    """One answered question: the run's figures (RunResult's, so a figure the engine adds is
    here too), the answer's sources, its typed events and the REPL's variables."""

    sources: list[dict[str, Any]] = field(default_factory=list)
    trace: list[Event] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the run ended with an answer (completed, or a budget forced one)."""
        return self.status in ("completed", "limit")


def parse_model(text: str | ModelSpec, credentials: Credentials | None = None) -> ModelSpec:
    """`"provider:model"` (e.g. `"openai:gpt-4.1"`, `"local:/path/model.gguf"`) as a ModelSpec;
    a bare model name takes the default provider (the first with a key, else local)."""
    if isinstance(text, ModelSpec):
        return text
    from rlm_engine.defaults import default_provider, suggested_model
    from rlm_engine.providers import provider_names

    provider, sep, model = text.partition(":")
    if not sep or provider not in provider_names():
        provider, model = default_provider(credentials or Credentials.from_env()), text
    if not model:
        model = suggested_model(provider)
    return ModelSpec(provider, model)


def load_context(context: ContextInput) -> str | list[str]:
    """Text as it is; a path or a list of paths loaded like `rlm ask --context` does."""
    return load_corpus(context)[0]


def load_corpus(context: ContextInput) -> tuple[str | list[str], list[Any] | None]:
    """`context` for the REPL, and the loaded documents (names, pages) when it came from
    paths, so that sources name files and pages."""
    if isinstance(context, str):
        return context, None
    if isinstance(context, os.PathLike):
        context = [context]
    items = list(context)
    if items and all(isinstance(item, os.PathLike) for item in items):
        from rlm_engine.corpus import load_paths

        corpus = load_paths([Path(item) for item in items])
        if not corpus.documents:
            reasons = "; ".join(problem.message for problem in corpus.problems)
            raise CorpusError(f"No readable document in the given paths: {reasons}")
        return corpus.context, list(corpus.documents)
    if all(isinstance(item, str) for item in items):
        return items, None
    raise CorpusError("context must be a str, a list of str, or path(s) (pathlib.Path)")


_BUDGET_NAMES = {f.name for f in fields(Budgets)}
_CONFIG_NAMES = {f.name for f in fields(RunConfig)} - {"root", "sub", "budgets"}


class RLM:
    """A Recursive Language Model with fixed models and budgets, asked one question at a time.

    Keyword settings are `Budgets` fields (`max_iterations`, `max_cost_usd`, ...) and `RunConfig`
    fields (`exec_timeout_s`, `prompt_variant`, ...).
    """

    def __init__(
        self,
        root: str | ModelSpec | None = None,
        sub: str | ModelSpec | None = None,
        *,
        credentials: Credentials | None = None,
        **settings: Any,
    ) -> None:
        self.credentials = credentials or Credentials.from_env()
        unknown = set(settings) - _BUDGET_NAMES - _CONFIG_NAMES
        if unknown:
            raise ConfigError(f"Unknown setting(s): {', '.join(sorted(unknown))}")
        root_spec = parse_model(root or "", self.credentials)
        budgets = Budgets(**{k: v for k, v in settings.items() if k in _BUDGET_NAMES})
        self.config = RunConfig(
            root=root_spec,
            sub=parse_model(sub, self.credentials) if sub else None,
            budgets=budgets,
            **{k: v for k, v in settings.items() if k in _CONFIG_NAMES},
        )
        self._keep_session = False
        self._session: Any = None
        self._session_context: str | list[str] | None = None
        self._lock = threading.Lock()

    def ask(
        self,
        question: str,
        context: ContextInput | None = None,
        *,
        on_event: Any = None,
        cancel: threading.Event | None = None,
    ) -> Result:
        """Answer `question` over `context` (blocking). Inside `with RLM(...)`, the context may be
        left out after the first question: the same REPL, with its variables, answers it."""
        from rlm_engine.session import Session

        with self._lock:
            session = self._session_for(context, Session)
            trace: list[Event] = []

            def record(event: Event) -> None:
                trace.append(event)
                if on_event is not None:
                    on_event(event)

            try:
                run = session.run(question, self.config, on_event=record, cancel=cancel)
                variables = session.variables()
            finally:
                if not self._keep_session:
                    session.close()
                    self._session = None
        return Result(
            **run.to_dict(),
            sources=_sources_of(trace),
            trace=trace,
            variables=variables,
        )

    async def aask(
        self, question: str, context: ContextInput | None = None, *, on_event: Any = None
    ) -> Result:
        """`ask` for asyncio callers: the run goes on a worker thread; cancelling the task stops
        the run within a second."""
        cancel = threading.Event()
        task = asyncio.to_thread(self.ask, question, context, on_event=on_event, cancel=cancel)
        try:
            return await task
        except asyncio.CancelledError:
            cancel.set()
            raise

    def _session_for(self, context: ContextInput | None, session_class: Any) -> Any:
        if context is None:
            if self._session is None:
                raise CorpusError("No context: pass one with the first question.")
            return self._session
        loaded, documents = load_corpus(context)
        if self._session is not None and loaded == self._session_context:
            return self._session
        self.close()
        self._session = session_class(loaded, self.credentials, documents=documents)
        self._session_context = loaded
        return self._session

    def close(self) -> None:
        """Stop the REPL kept across questions (if any)."""
        if self._session is not None:
            self._session.close()
            self._session = None
            self._session_context = None

    def __enter__(self) -> RLM:
        self._keep_session = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._keep_session = False
        self.close()


def _sources_of(trace: list[Event]) -> list[dict[str, Any]]:
    """The answer's sources, best first: {"document", "document_index", "page", "start", "end",
    "text"} each (the same list as `rlm ask --json`'s "sources")."""
    for event in reversed(trace):
        if isinstance(event, SourcesFound) and event.depth == 0:
            return list(event.sources)
    return []
