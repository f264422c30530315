"""The tables. Times are UNIX seconds (floats), as in the engine's events.

Schema changes never happen here alone: each one is a new revision in `storage/migrations/versions`
(`m00N_what`), and `tests/test_storage_schema.py` checks that the migrations build exactly this.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Corpus(Base):
    """A named collection of documents, in upload order (see `CorpusDocument`)."""

    __tablename__ = "corpora"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[float] = mapped_column(Float)


class Document(Base):
    """One extracted text, stored once however many times it is uploaded (unique sha256); the
    text itself is in `DocumentTextChunk`s."""

    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(20))
    chars: Mapped[int] = mapped_column(Integer)
    n_pages: Mapped[int] = mapped_column(Integer)
    page_offsets: Mapped[list[int]] = mapped_column(JSON)
    # always "" since m007 (the text is in document_text_chunks): SQLite before 3.35 cannot drop
    # a column in place, and dropping the old table to rebuild it inside the migration's
    # transaction (foreign keys on) would delete the PDF files with it, or be refused
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)


class DocumentTextChunk(Base):
    """A document's text in pieces of at most `storage.corpora.CHUNK_CHARS` characters, `seq`
    from 0; joined in order they are the text (none: the empty text). A large text is never one
    bound value: the database copies each value it is given, and SQLite keeps the last one."""

    __tablename__ = "document_text_chunks"
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)


class CorpusDocument(Base):
    """A document's place in a corpus, under the file name it was uploaded with there."""

    __tablename__ = "corpus_documents"
    corpus_id: Mapped[int] = mapped_column(
        ForeignKey("corpora.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    name: Mapped[str] = mapped_column(String(500))


class Comparison(Base):
    """Runs of one question under several model configurations (`labels`, in display order)."""

    __tablename__ = "comparisons"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    corpus_id: Mapped[int | None] = mapped_column(ForeignKey("corpora.id", ondelete="SET NULL"))
    labels: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[float] = mapped_column(Float)


class Run(Base):
    """One run; totals grow as events arrive and are set from RunFinished at the end."""

    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    corpus_id: Mapped[int | None] = mapped_column(
        ForeignKey("corpora.id", ondelete="SET NULL"), index=True
    )
    comparison_id: Mapped[int | None] = mapped_column(
        ForeignKey("comparisons.id", ondelete="SET NULL"), index=True
    )
    label: Mapped[str | None] = mapped_column(String(200))
    root_provider: Mapped[str] = mapped_column(String(50))
    root_model: Mapped[str] = mapped_column(String(200), index=True)
    sub_provider: Mapped[str | None] = mapped_column(String(50))
    sub_model: Mapped[str | None] = mapped_column(String(200))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    context_meta: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), index=True)
    answer: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    iterations: Mapped[int] = mapped_column(Integer)
    sub_calls: Mapped[int] = mapped_column(Integer)
    input_tokens: Mapped[int] = mapped_column(Integer)
    output_tokens: Mapped[int] = mapped_column(Integer)
    cost_usd: Mapped[float | None] = mapped_column(Float)  # NULL: some price unknown
    started_at: Mapped[float] = mapped_column(Float, index=True)
    finished_at: Mapped[float | None] = mapped_column(Float)
    elapsed_s: Mapped[float | None] = mapped_column(Float)
    last_event_at: Mapped[float] = mapped_column(Float)
    writer: Mapped[str | None] = mapped_column(String(200))  # host/boot/pid/start of the recorder
    starred: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # follow-ups of one Ask session share it; None: the run stands alone (History groups by
    # coalesce(conversation_id, id))
    conversation_id: Mapped[str | None] = mapped_column(String(64), index=True)


class RunTag(Base):
    """A word a user attached to a run in History, to find it again."""

    __tablename__ = "run_tags"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)


class EventRow(Base):
    """Every event as the engine sent it (`Event.to_dict()`, secrets stripped), in order."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(40))
    depth: Mapped[int] = mapped_column(Integer)
    time: Mapped[float] = mapped_column(Float)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    __table_args__ = (Index("ix_events_run_seq", "run_id", "seq", unique=True),)


class Iteration(Base):
    """One root-model reply (of the root RLM, or of a child RLM when depth > 0)."""

    __tablename__ = "iterations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    depth: Mapped[int] = mapped_column(Integer)
    parent_call_id: Mapped[str | None] = mapped_column(String(64))
    iteration: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(String(200))
    input_tokens: Mapped[int] = mapped_column(Integer)
    output_tokens: Mapped[int] = mapped_column(Integer)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    elapsed_s: Mapped[float] = mapped_column(Float)
    forced: Mapped[bool] = mapped_column(Boolean)
    time: Mapped[float] = mapped_column(Float)


class SubCall(Base):
    """One model call made for the REPL; `status` is running until its SubCallFinished arrives."""

    __tablename__ = "sub_calls"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    call_id: Mapped[str] = mapped_column(String(64))
    depth: Mapped[int] = mapped_column(Integer)
    parent_call_id: Mapped[str | None] = mapped_column(String(64))
    iteration: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    model: Mapped[str] = mapped_column(String(200))
    prompt: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # running, ok, error
    response: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    input_tokens: Mapped[int] = mapped_column(Integer)
    output_tokens: Mapped[int] = mapped_column(Integer)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    elapsed_s: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[float] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float)
    __table_args__ = (Index("ix_sub_calls_run_call", "run_id", "call_id"),)


class EvalSet(Base):
    """A named question set; `questions` holds its lines as dicts (question, expected, grader,
    id, tolerance, ...), validated by rlm_eval before they get here."""

    __tablename__ = "eval_sets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class Evaluation(Base):
    """A set run under several configurations. `questions` is the set as it was when the
    evaluation started (a later edit of the set changes no result); `configs` are
    [{"name", "settings": {KEY: VALUE}}]; `elapsed_s` adds up the time of every sitting."""

    __tablename__ = "evaluations"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    set_id: Mapped[int | None] = mapped_column(ForeignKey("eval_sets.id", ondelete="SET NULL"))
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    corpus_id: Mapped[int | None] = mapped_column(ForeignKey("corpora.id", ondelete="SET NULL"))
    configs: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    judge: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    parallel: Mapped[int] = mapped_column(Integer)
    repeat: Mapped[int] = mapped_column(Integer)
    max_cost_usd: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float, index=True)
    finished_at: Mapped[float | None] = mapped_column(Float)
    elapsed_s: Mapped[float] = mapped_column(Float)
    writer: Mapped[str | None] = mapped_column(String(200))


class EvalCell(Base):
    """One question under one configuration (one repeat): its run, answer and grade."""

    __tablename__ = "eval_cells"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evaluation_id: Mapped[str] = mapped_column(ForeignKey("evaluations.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(200))
    config_name: Mapped[str] = mapped_column(String(200))
    repeat: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20))
    answer: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    passed: Mapped[bool] = mapped_column(Boolean)
    score: Mapped[float] = mapped_column(Float)
    grade: Mapped[dict[str, Any]] = mapped_column(JSON)
    iterations: Mapped[int] = mapped_column(Integer)
    sub_calls: Mapped[int] = mapped_column(Integer)
    input_tokens: Mapped[int] = mapped_column(Integer)
    output_tokens: Mapped[int] = mapped_column(Integer)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    elapsed_s: Mapped[float] = mapped_column(Float)
    finished_at: Mapped[float] = mapped_column(Float)
    __table_args__ = (
        Index(
            "ix_eval_cells_cell",
            "evaluation_id",
            "question_id",
            "config_name",
            "repeat",
            unique=True,
        ),
    )


class RunSource(Base):
    """One source of a run's answer, best first (`rank` from 1): document[start:end] == text.
    `cited`: the model named it itself (checked verbatim against the corpus)."""

    __tablename__ = "run_sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    document: Mapped[str] = mapped_column(String(500))
    document_index: Mapped[int] = mapped_column(Integer)
    page: Mapped[int | None] = mapped_column(Integer)
    start_char: Mapped[int] = mapped_column(Integer)
    end_char: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    cited: Mapped[bool] = mapped_column(Boolean)


class RunPassage(Base):
    """A corpus passage that a REPL output (`origin` code: block `block_index`) or a sub-call
    prompt (`origin` sub_call: `call_id`) held; its text is the document's, by offsets."""

    __tablename__ = "run_passages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    depth: Mapped[int] = mapped_column(Integer)
    parent_call_id: Mapped[str | None] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(20))
    iteration: Mapped[int] = mapped_column(Integer)
    block_index: Mapped[int | None] = mapped_column(Integer)
    call_id: Mapped[str | None] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(String(500))
    document_index: Mapped[int] = mapped_column(Integer)
    page: Mapped[int | None] = mapped_column(Integer)
    start_char: Mapped[int] = mapped_column(Integer)
    end_char: Mapped[int] = mapped_column(Integer)


class DocumentFile(Base):
    """The original bytes of a PDF document, kept to show its pages (sources highlighted)."""

    __tablename__ = "document_files"
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[bytes] = mapped_column(LargeBinary)


class SubCallAnswer(Base):
    """A sub-call's answer, kept for the opt-in sub-call cache: `key` is the engine's digest of
    the corpus, model, endpoint, prompt and parameters (rlm_engine.subcall_cache), so an
    identical sub-call over the same corpus is answered from here at no cost."""

    __tablename__ = "sub_call_cache"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(300))
    response: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)
    hits: Mapped[int] = mapped_column(Integer)
