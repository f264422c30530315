"""What queries take and return: plain frozen values, safe to hand to any thread (no sessions,
no ORM)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class RunFilter:
    """Which runs a listing holds; a field left at None (or "") does not filter. `model` matches
    the root or the sub model, `text` the question or the answer (any case); `since` and `until`
    bound the start time (since inclusive, until exclusive); `conversation` is a grouping key
    (`RunSummary.conversation`)."""

    corpus_id: int | None = None
    model: str | None = None
    status: str | None = None
    text: str | None = None
    since: float | datetime | None = None
    until: float | datetime | None = None
    comparison_id: int | None = None
    starred: bool | None = None
    tag: str | None = None
    conversation: str | None = None


@dataclass(frozen=True)
class DocumentInfo:
    """A document as placed in one corpus (`name` is the file name used there). No text: see
    `Database.corpus_context()` and `Database.document_text()`."""

    id: int
    sha256: str
    name: str
    kind: str
    chars: int
    n_pages: int
    page_offsets: tuple[int, ...]
    position: int


@dataclass(frozen=True)
class CorpusInfo:
    id: int
    name: str
    created_at: float
    n_documents: int
    total_chars: int
    documents: tuple[DocumentInfo, ...] = ()  # filled by get_corpus / save_corpus only


@dataclass(frozen=True, kw_only=True)
class RunSummary:
    """One row of the run list. `cost_usd` None: some price was unknown (never show it as $0)."""

    run_id: str
    question: str
    status: str  # running, completed, limit, failed, cancelled, interrupted
    answer: str | None  # in a listing: its first 2,000 characters (queries.PREVIEW_CHARS)
    error: str | None  # likewise
    root_provider: str
    root_model: str
    sub_provider: str | None
    sub_model: str | None
    corpus_id: int | None
    corpus_name: str | None
    comparison_id: int | None
    label: str | None
    iterations: int
    sub_calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    started_at: float
    finished_at: float | None
    elapsed_s: float | None
    starred: bool = False
    conversation_id: str | None = None  # None: a run on its own
    tags: tuple[str, ...] = ()  # filled by list_runs and get_run
    turns: int = 1  # in a grouped listing: the questions of its conversation that matched

    @property
    def conversation(self) -> str:
        """The key History groups by: the conversation, or the run itself when it has none."""
        return self.conversation_id or self.run_id


@dataclass(frozen=True, kw_only=True)
class RunDetail(RunSummary):
    """A run's whole row: its answer and error uncut, its settings. Its trace is its events
    (`Database.run_events`, folded by rlm_engine.trace)."""

    config: dict[str, Any] = field(default_factory=dict)
    context_meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelTotals:
    """Everything one model did, root calls and sub-calls together. `cost_usd` sums the priced
    calls; `unpriced_calls` says how many had no known price."""

    model: str
    calls: int
    runs: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    unpriced_calls: int


@dataclass(frozen=True)
class ComparisonInfo:
    id: int
    question: str
    corpus_id: int | None
    labels: tuple[str, ...]
    created_at: float
    runs: tuple[RunSummary, ...] = ()  # filled by get_comparison only
