"""Typed, serialisable events: the only way the outside world sees a run.

The UI draws them, storage records them, the CLI and the benchmarks count them. Each event is a
frozen dataclass with a `type` tag; `to_dict()`/`event_from_dict()` round-trip through JSON.

Every event carries `run_id` (the top-level run) and `depth` (0 for the root RLM, 1 for a child RLM
started by `rlm_query`, ...). Events of a child RLM also carry `parent_call_id`: the id of the
`rlm_query` sub-call that started it. Times are UNIX seconds (`time.time()`).

Order within one run: RunStarted, MethodChosen (depth 0), then per iteration (RootDelta pieces
while a depth-0 root reply streams, then) RootResponse followed
by one CodeExecuted per code block (with the sub-calls made by that block between
SubCallStarted/SubCallFinished pairs), Notice events wherever the model must be told something,
FinalAnswer, and RunFinished last.
Provenance (rlm_engine.sources): a PassagesFound comes after the CodeExecuted or SubCallStarted
whose text holds corpus passages, a CitationChecked each citation, and SourcesFound comes just
before the top-level RunFinished.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, Literal

RunStatus = Literal["completed", "limit", "failed", "cancelled"]


def _now() -> float:
    return time.time()


@dataclass(frozen=True)
class Usage:
    """Tokens reported by a provider for one call (0 when it reported none).

    `input_tokens` counts every prompt token; `cached_tokens` of them were read from the
    provider's prompt cache and `cache_write_tokens` were written to it (Anthropic), each priced
    at its own rate.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_tokens + other.cached_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
        )

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, kw_only=True)
class Event:
    type: ClassVar[str] = "event"
    run_id: str
    depth: int = 0
    parent_call_id: str | None = None
    time: float = field(default_factory=_now)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["type"] = self.type
        return data


@dataclass(frozen=True, kw_only=True)
class RunStarted(Event):
    """A run (or a child RLM, depth > 0) began."""

    type: ClassVar[str] = "run_started"
    question: str
    config: dict[str, Any]
    context_meta: dict[str, Any]  # type, total_chars, n_documents, document lengths


@dataclass(frozen=True, kw_only=True)
class MethodChosen(Event):
    """How the run answers (rlm_engine.router): the RLM, or the root model reading the corpus
    itself, and why (`reason` is shown as is: "read directly: 5,100 tokens fit ...")."""

    type: ClassVar[str] = "method_chosen"
    method: Literal["rlm", "direct"]
    requested: Literal["auto", "rlm", "direct"]
    reason: str
    corpus_tokens: int  # estimated
    window_tokens: int | None  # the root model's window; None: unknown, or method rlm
    cut: bool = False  # direct, but the corpus was cut to fit the window


@dataclass(frozen=True, kw_only=True)
class RootResponse(Event):
    """The root model answered one iteration (or the forced final-answer call: `forced=True`)."""

    type: ClassVar[str] = "root_response"
    iteration: int  # 1-based
    text: str
    model: str
    usage: Usage
    cost_usd: float | None  # None: price unknown (never shown as $0)
    elapsed_s: float
    forced: bool = False
    tokens_per_s: float | None = None  # output tokens per second of generation
    first_token_s: float | None = None  # seconds until the first streamed token


@dataclass(frozen=True, kw_only=True)
class RootDelta(Event):
    """A piece of the root model's reply while it streams (depth 0 only), before its
    RootResponse. `offset` is where `text` starts in the reply, so a reader that missed a piece
    (or a retried call that starts over) still assembles the right text. Storage keeps none:
    the RootResponse holds the whole reply."""

    type: ClassVar[str] = "root_delta"
    iteration: int  # the iteration this reply will be (RootResponse.iteration)
    offset: int
    text: str


@dataclass(frozen=True, kw_only=True)
class CodeExecuted(Event):
    """One ```repl block ran in the sandbox. `output` is what the model sees (already truncated)."""

    type: ClassVar[str] = "code_executed"
    iteration: int
    block_index: int  # 0-based within the reply
    code: str
    output: str
    output_chars: int  # characters before truncation
    elapsed_s: float
    error: str | None = None  # the exception line, if the code raised
    restarted: bool = False  # the worker was killed and restarted: variables were lost


@dataclass(frozen=True, kw_only=True)
class SubCallStarted(Event):
    """A model call made for the REPL: llm_query, one prompt of llm_query_batched, or rlm_query."""

    type: ClassVar[str] = "sub_call_started"
    call_id: str
    iteration: int
    kind: Literal["llm", "rlm"]
    model: str
    prompt: str
    # One prompt of llm_query_batched: which batch, and its place in it (the calls of a batch
    # start in whatever order their threads run; the UI lists them in the batch's order).
    batch_id: str | None = None
    batch_index: int | None = None


@dataclass(frozen=True, kw_only=True)
class SubCallFinished(Event):
    type: ClassVar[str] = "sub_call_finished"
    call_id: str
    response: str
    usage: Usage
    cost_usd: float | None
    elapsed_s: float
    error: str | None = None
    tokens_per_s: float | None = None
    cached: bool = False  # answered from the sub-call cache: no model call, $0


@dataclass(frozen=True, kw_only=True)
class Notice(Event):
    """What the model (and the user) was told: a discarded FINAL, a restarted worker, a budget."""

    type: ClassVar[str] = "notice"
    iteration: int
    message: str


@dataclass(frozen=True, kw_only=True)
class GuardFired(Event):
    """A guard of rlm_engine.stall fired: which one, and what the engine did (refused a FINAL,
    ran the fallback, or only told the model)."""

    type: ClassVar[str] = "guard_fired"
    iteration: int
    guard: str  # final_before_code, final_before_sub_call, idle_replies, stall_repeat, ...
    action: Literal["refused", "fallback", "noted"]
    message: str


@dataclass(frozen=True, kw_only=True)
class FinalAnswer(Event):
    type: ClassVar[str] = "final_answer"
    answer: str
    source: Literal["code", "text", "forced", "direct", "fallback"]
    unsupported: bool = False  # accepted although it appears in no REPL output the model saw


@dataclass(frozen=True, kw_only=True)
class RunFinished(Event):
    """Last event of a run. Totals cover the whole tree of calls."""

    type: ClassVar[str] = "run_finished"
    status: RunStatus
    answer: str | None
    error: str | None
    iterations: int
    sub_calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None  # None if any call had an unknown price
    elapsed_s: float
    cached_tokens: int = 0  # of input_tokens: read from providers' prompt caches
    cache_write_tokens: int = 0  # of input_tokens: written to them
    unsupported: bool = False  # the answer rests on no REPL output the model saw
    method: Literal["rlm", "direct"] = "rlm"  # how the answer was found
    fallback: bool = False  # the answer is the engine's fallback's (rlm_engine.fallback)


@dataclass(frozen=True, kw_only=True)
class PassagesFound(Event):
    """The corpus passages held by a REPL output (`origin="code"`: the block `block_index` of
    `iteration`) or by a sub-call's prompt (`origin="sub_call"`: the call `call_id`). Each
    passage: {"document", "document_index", "page", "start", "end", "text"}."""

    type: ClassVar[str] = "passages_found"
    origin: Literal["code", "sub_call"]
    iteration: int
    block_index: int | None = None
    call_id: str | None = None
    passages: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class CitationChecked(Event):
    """A citation of the model (`cite(...)` or `FINAL(..., sources=[...])`), checked against the
    corpus: `accepted` with its passages, or dropped (`reason`), never shown as a source."""

    type: ClassVar[str] = "citation_checked"
    iteration: int
    text: str
    accepted: bool
    reason: str | None = None
    passages: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class SourcesFound(Event):
    """The answer's sources, best first (cited ones first), just before the RunFinished of the
    top-level run. `sources` empty: no passage of the corpus contains this answer."""

    type: ClassVar[str] = "sources_found"
    answer: str | None
    sources: list[dict[str, Any]] = field(default_factory=list)
    cited: int = 0  # the first `cited` sources are the model's own, checked citations
    rejected: int = 0  # citations dropped: not in the corpus verbatim
    elapsed_s: float = 0.0  # time spent matching during the whole run (wall clock)
    cpu_s: float = 0.0  # the same in CPU time of the matching threads (without waits for the GIL)


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        RunStarted,
        MethodChosen,
        RootResponse,
        RootDelta,
        CodeExecuted,
        SubCallStarted,
        SubCallFinished,
        Notice,
        GuardFired,
        FinalAnswer,
        RunFinished,
        PassagesFound,
        CitationChecked,
        SourcesFound,
    )
}


def event_from_dict(data: dict[str, Any]) -> Event:
    """Inverse of `Event.to_dict()`; ignores unknown keys so that old readers survive new fields."""
    cls = EVENT_TYPES[data["type"]]
    names = {f.name for f in fields(cls)}
    values = {k: v for k, v in data.items() if k in names}
    if isinstance(values.get("usage"), dict):
        known = {f.name for f in fields(Usage)}
        values["usage"] = Usage(**{k: v for k, v in values["usage"].items() if k in known})
    return cls(**values)
