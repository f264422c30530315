"""The command line's storage: where runs are saved (without making the first model request
wait), the sub-call cache, and the database directories the sandbox hides.

Opening storage costs tenths of a second (SQLAlchemy, the schema check, the corpus written to the
database). A run's events are therefore held in memory until its first root response (or its end,
for a run that got none); the database is opened then, the held events are written in order, and
every later event as it comes. A database that cannot be opened is a warning, never a failure.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from rlm_engine.errors import RLMError
from rlm_engine.events import Event, RootResponse, RunFinished

if TYPE_CHECKING:
    from rlm_engine.corpus import Corpus
    from rlm_engine.held import HeldContext
    from storage import Database, Recorder
    from storage.subcalls import SubCallStore

log = logging.getLogger(__name__)


def private_dirs_for(db_url: str | None) -> tuple[str, ...]:
    """What the sandbox hides from model code: the data and models directories, and the
    directories of the SQLite files of --db and RLM_DB_URL (every saved run lives there)."""
    from rlm_engine.paths import default_db_url, private_dirs

    return private_dirs(_sqlite_dir(default_db_url()), db_url and _sqlite_dir(db_url))


def _sqlite_dir(url: str) -> str | None:
    """storage.sqlite_dir, without importing SQLAlchemy for a plain sqlite:/// URL (the default
    database's): the sandbox starts before storage is needed."""
    from rlm_engine.paths import plain_sqlite_path

    path = plain_sqlite_path(url)
    if path is not None:
        return os.path.realpath(path.expanduser().parent)
    from storage import sqlite_dir

    return sqlite_dir(url)


def open_recorder(
    args: argparse.Namespace, corpus: Corpus, held: HeldContext | None = None
) -> tuple[DeferredRecorder | None, Callable[[], tuple[int, str]]]:
    """A recorder for the run, unless --no-save, and what closes it (returning how many events
    could not be saved, and why). Storage opens at the run's first model reply (DeferredRecorder);
    its failures are said, not fatal. `held`: where the documents' texts are, when not in
    `corpus` (rlm_engine.held)."""
    if args.no_save:
        return None, lambda: (0, "")
    from rlm_engine.paths import default_db_url

    recorder = DeferredRecorder(args.db or default_db_url(), corpus, held)
    return recorder, recorder.close


def open_sub_call_cache(
    args: argparse.Namespace,
) -> tuple[SubCallStore | None, Callable[[], object] | None]:
    """The database's sub-call cache and what closes it; without a database, a warning and
    no cache (the run goes on, paying for every sub-call)."""
    from rlm_engine.paths import default_db_url
    from storage import Database

    try:
        db = Database.open(getattr(args, "db", None) or default_db_url())
        return db.sub_call_cache(), db.close
    except RLMError as exc:
        print(f"warning: no sub-call cache: {exc}", file=sys.stderr)
        return None, None


class DeferredRecorder:
    """`rec(event)` like storage's Recorder; `close()` -> (events not saved, why)."""

    def __init__(self, url: str, corpus: Corpus, held: HeldContext | None = None) -> None:
        self.url = url
        self.corpus = corpus
        self.held = held
        self._lock = threading.Lock()
        self._held: list[Event] = []
        self._db: Database | None = None
        self._recorder: Recorder | None = None
        self._failed = False
        self._conversation_id: str | None = None

    @property
    def conversation_id(self) -> str | None:
        """The conversation the next runs belong to (`rlm chat`: one REPL, one conversation)."""
        return self._conversation_id

    @conversation_id.setter
    def conversation_id(self, value: str | None) -> None:
        with self._lock:
            self._conversation_id = value
            if self._recorder is not None:
                self._recorder.conversation_id = value

    def __call__(self, event: Event) -> None:
        with self._lock:
            if self._recorder is not None:
                self._recorder(event)
            elif not self._failed:
                self._held.append(event)
                if isinstance(event, RootResponse | RunFinished):
                    self._open()

    @property
    def lost(self) -> str | None:
        """Why every written event is lost (the database file was deleted or replaced)."""
        return getattr(self._recorder, "lost", None)

    def close(self) -> tuple[int, str]:
        with self._lock:
            if self._recorder is None and not self._failed and self._held:
                self._open()
            if self._db is None:
                return 0, ""
            return self._db.close(), self._db.unsaved_reason

    def _open(self) -> None:
        """Open the database, save the corpus, write the held events (a failure: a warning)."""
        from storage import Database, StorageError

        held, self._held = self._held, []
        try:
            db = Database.open(self.url)
            try:
                saved = db.save_corpus(corpus_name(self.corpus), self._documents())
                recorder = db.recorder(corpus_id=saved.id)
            except BaseException:
                db.close()
                raise
        except RLMError as exc:
            self._failed = True
            print(f"warning: the run will not be saved: {exc}", file=sys.stderr)
            return
        recorder.conversation_id = self._conversation_id
        self._db, self._recorder = db, recorder
        for event in held:
            try:
                recorder(event)
            except StorageError:  # an event that can never be stored: the engine's rule
                log.exception("An event consumer failed on %s", event.type)

    def _documents(self) -> list[Any]:
        """The documents to save; their texts from `held` when given, a piece at a time (the
        host may keep them in a file: rlm_engine.held)."""
        documents = list(self.corpus.documents)
        if self.held is None:
            return documents
        return [
            {**{f.name: getattr(d, f.name) for f in fields(d)}, "text": text}
            for d, text in zip(documents, self.held.texts(), strict=True)
        ]


def corpus_name(corpus: Corpus) -> str:
    """The corpus as History lists it: its first three documents' names."""
    name = ", ".join(doc.name for doc in corpus.documents[:3])
    if len(corpus.documents) > 3:
        name += f" and {len(corpus.documents) - 3} more"
    return name
