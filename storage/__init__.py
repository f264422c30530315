"""Storage: every corpus and every run, with its full trace, kept for review and comparison.

Knows no Streamlit and no engine internals: it records engine events as data. SQLAlchemy 2.x;
SQLite by default (WAL, busy wait, foreign keys), any SQLAlchemy URL otherwise (PostgreSQL for
teams: `postgresql+psycopg://...`). The schema is migrated by Alembic (storage/migrations,
revisions m001_initial, ...) automatically in `Database.open`.

    from storage import Database
    db = Database.open(url)                  # url: rlm_engine.paths.default_db_url() or --db
    rec = db.recorder(corpus_id=None, comparison_id=None, label=None)
    engine.run(question, context, config, on_event=rec)   # rec(event): Event or dict

Writing (each call is one short transaction; thread-safe):
    db.recorder(corpus_id=None, comparison_id=None, label=None, conversation_id=None)
        -> Recorder   # rec(event); runs of one conversation_id are one session's follow-ups
        # lossless under a passing lock or outage: unwritten events wait in memory, in order;
        # rec.pending, rec.error; rec.close() -> events not saved (0: the run is whole)
    db.save_corpus(name, documents) -> CorpusInfo          # documents deduplicated by sha256
    db.add_documents(corpus_id, documents) -> CorpusInfo
    db.remove_documents(corpus_id, positions) -> CorpusInfo   # by DocumentInfo.position
    db.rename_corpus(corpus_id, name) -> bool;  db.delete_corpus(corpus_id) -> bool
    db.create_comparison(question, corpus_id, labels) -> int;  db.delete_comparison(id) -> bool
    db.set_starred(run_id, starred=True) -> bool;  db.set_tags(run_id, tags) -> list[str]
    db.delete_run(run_id) -> bool;  db.import_run(export_dict, corpus_id=None) -> run_id
    db.mark_interrupted() -> list[run_id]                  # also done by open()
    db.sub_call_cache() -> SubCallStore        # get(key) / put(key, model, response): the
                                               #   engine's opt-in SubCallCache (one table)
Reading (frozen records from storage.query_results; no sessions escape):
    db.list_runs(only=None, *, grouped=False, limit=50, offset=0) -> list[RunSummary]
        # newest first; only: RunFilter(corpus_id, model, status, text, since, until,
        # comparison_id, starred, tag, conversation), None = all runs;
        # grouped: one row per conversation (its newest matching run, `turns`)
    db.count_runs(only=None, *, grouped=False) -> int
    db.conversation_runs(key) -> list[RunSummary]   # RunSummary.conversation; oldest first
    db.all_tags() -> list[str]                      # the most used first
    db.run_models() -> list[str]                    # root and sub models of the runs, sorted
    db.get_run(run_id) -> RunDetail | None     # + config, context_meta, whole answer
    db.run_events(run_id) -> list[Event]       # in order; rlm_engine.trace.fold reads them
    db.export_run(run_id) -> dict | None       # {"format": "rlm-workbench.run", "version": 1}
    db.totals_by_model() -> list[ModelTotals]
    db.list_corpora() -> list[CorpusInfo];  db.get_corpus(id) -> CorpusInfo | None (with documents)
    db.corpus_context(corpus_id) -> list[str];  db.document_text(document_id) -> str | None
    db.list_comparisons() -> list[ComparisonInfo];  db.get_comparison(id) (with its runs)
    db.evals -> EvalStore: question sets and evaluations (storage.evals): save_set, list_sets,
        create, add_cell, finish, claim, list, get (with cells), delete
    sqlite_dir(url) -> str | None              # the SQLite file's directory: sandboxes hide it
    db.close() -> int                          # flushes its recorders; events not saved
    db.read_only                               # a SQLite file or directory we cannot write:
                                               #   reading works, writes raise DatabaseReadOnly

Run status: running, then the engine's completed / limit / failed / cancelled; `interrupted` when
the recording process died (checked at open by pid + process start time + boot id + PID
namespace, on this host only; a writer we cannot see is never judged).
Documents are any objects (or dicts) with name, kind, text, sha256, page_offsets, n_pages.
Secrets: values under names like api_key/token/secret/password, credentials inside URLs of the
config, and URL credentials and key-shaped words (sk-..., Bearer ...) in error and notice text
are replaced by "[redacted]" before anything is stored (storage.scrub); prompts and responses
are kept as written. Errors: see storage.errors
(StorageError, a subclass of rlm_engine.errors.RLMError).
"""

from storage.connect import sqlite_dir
from storage.database import Database
from storage.errors import (
    DatabaseCorrupt,
    DatabaseLocked,
    DatabaseReadOnly,
    DatabaseUnavailable,
    ExportFormatError,
    ForeignDatabase,
    SchemaTooNew,
    StorageError,
)
from storage.export import FORMAT as EXPORT_FORMAT
from storage.export import VERSION as EXPORT_VERSION
from storage.query_results import (
    ComparisonInfo,
    CorpusInfo,
    DocumentInfo,
    ModelTotals,
    RunDetail,
    RunFilter,
    RunSummary,
)
from storage.recorder import Recorder

__all__ = [
    "EXPORT_FORMAT",
    "EXPORT_VERSION",
    "ComparisonInfo",
    "CorpusInfo",
    "Database",
    "DatabaseCorrupt",
    "DatabaseLocked",
    "DatabaseReadOnly",
    "DatabaseUnavailable",
    "DocumentInfo",
    "ExportFormatError",
    "ForeignDatabase",
    "ModelTotals",
    "Recorder",
    "RunDetail",
    "RunFilter",
    "RunSummary",
    "SchemaTooNew",
    "StorageError",
    "sqlite_dir",
]
