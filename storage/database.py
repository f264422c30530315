"""`Database`: the one object the app and the CLI hold. Thread-safe; every method opens its own
short connection and returns frozen records, so callers never touch a session."""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from rlm_engine.events import Event, event_from_dict
from storage import comparisons, corpora, export, marks, queries, sources, stale_runs
from storage.connect import (
    WRITE,
    can_write,
    check_schema,
    check_sqlite_file,
    create_engine,
    display_url,
    guarded,
    migrate,
    read_only_url,
    restrict_sqlite_files,
    sqlite_path,
)
from storage.errors import DatabaseLocked, DatabaseReadOnly, StorageError
from storage.evals import EvalStore
from storage.liveness import writer_token
from storage.query_results import (
    ComparisonInfo,
    CorpusInfo,
    ModelTotals,
    RunDetail,
    RunFilter,
    RunSummary,
)
from storage.recorder import Recorder
from storage.subcalls import SubCallStore
from storage.tables import Run

RUNS = Run.__table__


class Database:
    """A migrated database. Create with `Database.open(url)`; `close()` when done."""

    def __init__(self, engine: Engine, shown: str, *, read_only: bool = False) -> None:
        self._engine = engine
        self.url = shown  # for messages: never holds the password
        self.read_only = read_only  # a SQLite file we may read but not write (see open)
        self.writer = writer_token()
        self._recorders: weakref.WeakSet[Recorder] = weakref.WeakSet()
        self._file: tuple[Path, tuple[int, int]] | None = None  # a SQLite file, as opened

    @classmethod
    def open(cls, url: str, *, lock_timeout_s: float = 5.0) -> Database:
        """Open (creating and migrating as needed) and mark runs of dead writers `interrupted`.

        A SQLite file whose file or directory we cannot write opens read-only (`read_only`):
        runs can be listed and read; recording and other writes raise DatabaseReadOnly.

        Raises a StorageError subclass (locked, read-only, corrupt, newer schema, foreign
        database, unavailable) before writing anything to a database it should not touch.
        """
        try:
            parsed = make_url(url)
        except sa.exc.ArgumentError as exc:
            hint = ""
            if "://" not in url:  # a path: say how to write it as a URL
                where = Path(url).expanduser().resolve()
                file = where / "runs.db" if where.is_dir() else where
                hint = f" For a SQLite file, write sqlite:///{file}."
            raise StorageError(f"Not a database URL: {url!r} ({exc}).{hint}") from exc
        shown = display_url(parsed)
        path = sqlite_path(parsed)
        read_only = False
        if path is not None:
            check_sqlite_file(path, shown)
            if not can_write(path):  # list and read runs; recording is refused
                read_only = True
                parsed = read_only_url(path)
            else:
                restrict_sqlite_files(path)
        try:
            engine = create_engine(parsed, lock_timeout_s=lock_timeout_s)
        except (ImportError, sa.exc.ArgumentError) as exc:
            raise StorageError(f"Cannot use database {shown}: {exc}") from exc
        database = cls(engine, shown, read_only=read_only)
        try:
            if read_only:
                check_schema(engine, shown)
                return database
            migrate(engine, shown)
            if path is not None:
                with guarded(shown):
                    raw = engine.raw_connection()  # outside any transaction, as SQLite requires
                    try:
                        raw.cursor().execute("PRAGMA journal_mode = WAL")
                    finally:
                        raw.close()
            with suppress(DatabaseReadOnly, DatabaseLocked):  # still readable; next open marks
                database.mark_interrupted()
            if path is not None:
                database._file = (path, _identity(path))
        except BaseException:
            engine.dispose()
            raise
        return database

    def close(self) -> int:
        """Write what the recorders still hold (see Recorder.close), then let go of the
        database. Returns how many events could not be saved: 0 means every run is whole."""
        unsaved = sum(recorder.close() for recorder in list(self._recorders))
        self._engine.dispose()
        return unsaved

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def unsaved(self) -> int:
        """Events the recorders hold in memory (the database could not take them yet) or
        refused: non-zero means a saved run is, for now, incomplete."""
        return sum(recorder.pending + recorder.dropped for recorder in list(self._recorders))

    def sub_call_cache(self) -> SubCallStore:
        """The store of the opt-in sub-call cache (the engine's SubCallCache protocol)."""
        if self.read_only:
            raise DatabaseReadOnly(f"{self.url} is read-only: the sub-call cache cannot be kept.")
        return SubCallStore(self._engine, self.url)

    @property
    def evals(self) -> EvalStore:
        """Question sets and evaluations (storage.evals)."""
        return EvalStore(self)

    def file_problem(self) -> str | None:
        """Whether the SQLite file this database opened was deleted or replaced since: its open
        connections then write into a file nobody will read again. None when it is in place."""
        if self._file is None:
            return None
        path, opened = self._file
        try:
            now = _identity(path)
        except OSError:
            return f"the database file {path} was deleted while the run was being recorded"
        if now != opened:
            return f"the database file {path} was replaced while the run was being recorded"
        return None

    @property
    def unsaved_reason(self) -> str:
        """Why events could not be saved, in words (after `close()` too), or "" if all were."""
        reasons = [r.problem for r in list(self._recorders) if r.problem]
        return "; ".join(dict.fromkeys(reasons))

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with guarded(self.url), self._engine.connect() as connection:
            yield connection

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with guarded(self.url), self._engine.execution_options(**WRITE).begin() as connection:
            yield connection

    # recording ------------------------------------------------------------------------------

    def recorder(
        self,
        corpus_id: int | None = None,
        comparison_id: int | None = None,
        label: str | None = None,
        conversation_id: str | None = None,
    ) -> Recorder:
        """A callable for `on_event`: stores each event as it arrives (see storage.recorder);
        `close()` (or this database's) writes what an outage held back. Runs recorded with one
        `conversation_id` are follow-ups of one session (History shows them as one)."""
        if self.read_only:
            raise DatabaseReadOnly(
                f"Database {self.url} is open read-only (its file or directory is not "
                "writable): runs cannot be saved. Make both writable, or point RLM_DB_URL/--db "
                "elsewhere."
            )
        recorder = Recorder(
            self._engine,
            self.url,
            writer=self.writer,
            corpus_id=corpus_id,
            comparison_id=comparison_id,
            label=label,
            conversation_id=conversation_id,
            check_file=self.file_problem if self._file is not None else None,
        )
        self._recorders.add(recorder)
        return recorder

    def mark_interrupted(self) -> list[str]:
        """Mark `interrupted` every `running` run whose writer process is gone (see
        storage.liveness); returns their ids. Runs of live writers, here or elsewhere, stay."""
        with self._read() as connection:
            stale = stale_runs.stale_runs(connection)
        if stale:
            with self._write() as connection:
                stale_runs.mark_interrupted(connection, stale)
        return stale

    # corpora --------------------------------------------------------------------------------

    def save_corpus(self, name: str, documents: Iterable[Any] = ()) -> CorpusInfo:
        """A new corpus holding `documents` (corpus Documents, or objects/dicts with their
        fields); a text already stored (same sha256) is not stored again."""
        with self._write() as connection:
            corpus_id = corpora.create_corpus(connection, name)
            corpora.add_documents(connection, corpus_id, documents)
        info = self.get_corpus(corpus_id)
        assert info is not None
        return info

    def add_documents(self, corpus_id: int, documents: Iterable[Any]) -> CorpusInfo:
        with self._write() as connection:
            corpora.add_documents(connection, corpus_id, documents)
        info = self.get_corpus(corpus_id)
        assert info is not None
        return info

    def remove_documents(self, corpus_id: int, positions: Iterable[int]) -> CorpusInfo:
        """Take documents (by DocumentInfo.position) out of the corpus; the rest keep order."""
        with self._write() as connection:
            corpora.remove_documents(connection, corpus_id, positions)
        info = self.get_corpus(corpus_id)
        if info is None:
            raise StorageError(f"No corpus with id {corpus_id}.")
        return info

    def list_corpora(self) -> list[CorpusInfo]:
        with self._read() as connection:
            return corpora.list_corpora(connection)

    def get_corpus(self, corpus_id: int) -> CorpusInfo | None:
        """The corpus with its documents (in upload order), or None."""
        with self._read() as connection:
            return corpora.get_corpus(connection, corpus_id)

    def corpus_context(self, corpus_id: int) -> list[str]:
        """The documents' texts in order: the REPL's `context`."""
        with self._read() as connection:
            return corpora.corpus_context(connection, corpus_id)

    def document_text(self, document_id: int) -> str | None:
        with self._read() as connection:
            return corpora.document_text(connection, document_id)

    def rename_corpus(self, corpus_id: int, name: str) -> bool:
        with self._write() as connection:
            return corpora.rename_corpus(connection, corpus_id, name)

    def delete_corpus(self, corpus_id: int) -> bool:
        with self._write() as connection:
            return corpora.delete_corpus(connection, corpus_id)

    # runs -----------------------------------------------------------------------------------

    def list_runs(
        self,
        only: RunFilter | None = None,
        *,
        grouped: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> list[RunSummary]:
        """Newest first; `only` says which (all runs when None). `grouped`: one row per
        conversation (its newest matching run; `turns` says how many matched)."""
        with self._read() as connection:
            return queries.list_runs(
                connection, only or RunFilter(), grouped=grouped, limit=limit, offset=offset
            )

    def count_runs(self, only: RunFilter | None = None, *, grouped: bool = False) -> int:
        """How many rows `list_runs(only, grouped=grouped)` would page through."""
        with self._read() as connection:
            return queries.count_runs(connection, only or RunFilter(), grouped=grouped)

    def conversation_runs(self, conversation: str) -> list[RunSummary]:
        """The runs of one conversation (a RunSummary.conversation key), oldest first."""
        with self._read() as connection:
            runs = queries.list_runs(connection, RunFilter(conversation=conversation), limit=10_000)
        return runs[::-1]

    def set_starred(self, run_id: str, starred: bool = True) -> bool:
        with self._write() as connection:
            return marks.set_starred(connection, run_id, starred)

    def set_tags(self, run_id: str, tags: Iterable[str]) -> list[str]:
        """Replace the run's tags; returns them as stored (trimmed, each once)."""
        with self._write() as connection:
            return marks.set_tags(connection, run_id, tags)

    def run_models(self) -> list[str]:
        """The root and sub models of every run, sorted (the choices of the `model` filter)."""
        with self._read() as connection:
            return queries.run_models(connection)

    def all_tags(self) -> list[str]:
        """Every tag in use, the most used first."""
        with self._read() as connection:
            return queries.all_tags(connection)

    def get_run(self, run_id: str) -> RunDetail | None:
        with self._read() as connection:
            return queries.get_run(connection, run_id)

    def run_events(self, run_id: str) -> list[Event]:
        """The run's events in order, as the engine sent them (less secrets); rlm_engine.trace
        folds them."""
        with self._read() as connection:
            return [event_from_dict(data) for data in queries.run_events(connection, run_id)]

    def run_sources(self, run_id: str) -> list[dict[str, Any]]:
        """The answer's sources, best first (storage.sources)."""
        with self._read() as connection:
            return sources.run_sources(connection, run_id)

    def run_passages(self, run_id: str) -> list[dict[str, Any]]:
        """The corpus passages each REPL output and sub-call prompt held (storage.sources)."""
        with self._read() as connection:
            return sources.run_passages(connection, run_id)

    def corpus_document(self, corpus_id: int, index: int) -> dict[str, Any] | None:
        """A corpus's document `index` with its text, page offsets and PDF bytes."""
        with self._read() as connection:
            return sources.corpus_document(connection, corpus_id, index)

    def delete_run(self, run_id: str) -> bool:
        with self._write() as connection:
            return connection.execute(RUNS.delete().where(RUNS.c.id == run_id)).rowcount > 0

    def totals_by_model(self) -> list[ModelTotals]:
        with self._read() as connection:
            return queries.totals_by_model(connection)

    def export_run(self, run_id: str) -> dict[str, Any] | None:
        """The run as versioned JSON (storage.export), or None if unknown."""
        with self._read() as connection:
            return export.export_run(connection, run_id)

    def import_run(self, data: dict[str, Any], corpus_id: int | None = None) -> str:
        """Store an exported run; without `corpus_id` it joins the matching corpus here, if
        exactly one holds the export's documents (storage.export)."""
        with self._write() as connection:
            return export.import_run(connection, data, corpus_id)

    # comparisons ----------------------------------------------------------------------------

    def create_comparison(self, question: str, corpus_id: int | None, labels: Iterable[str]) -> int:
        """A group for runs of one question; record each run with
        `recorder(comparison_id=..., label=...)`."""
        with self._write() as connection:
            return comparisons.create_comparison(connection, question, corpus_id, labels)

    def list_comparisons(self) -> list[ComparisonInfo]:
        with self._read() as connection:
            return comparisons.list_comparisons(connection)

    def get_comparison(self, comparison_id: int) -> ComparisonInfo | None:
        with self._read() as connection:
            return comparisons.get_comparison(connection, comparison_id)

    def delete_comparison(self, comparison_id: int) -> bool:
        with self._write() as connection:
            return comparisons.delete_comparison(connection, comparison_id)


def _identity(path: Path) -> tuple[int, int]:
    """(device, inode) of a file: what stays the same while it is the same file."""
    stat = path.stat()
    return stat.st_dev, stat.st_ino
