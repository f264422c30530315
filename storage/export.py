"""A run as one JSON document that later versions can still read.

    {"format": "rlm-workbench.run", "version": 1, "exported_at": ..., "run": {...row...},
     "corpus": {"name", "documents": [{"name", "sha256", "kind", "chars"}]} | null,
     "events": [event dicts, in order]}

Readers must ignore keys they do not know; a new version number means an incompatible change.
The events are the source of truth (rlm_engine.events.event_from_dict reads them); "run" holds the
totals as recorded.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rlm_engine.redact import redact
from storage.corpora import corpus_holding, get_corpus
from storage.errors import ExportFormatError, StorageError
from storage.fold import apply_event, event_dict, insert_run
from storage.import_check import check_export
from storage.queries import run_events
from storage.scrub import scrub
from storage.tables import Run

FORMAT, VERSION = "rlm-workbench.run", 1
RUNS = Run.__table__
_RUN_FIELDS = [c.name for c in RUNS.c if c.name not in ("writer", "corpus_id", "comparison_id")]


def export_run(connection: Connection, run_id: str) -> dict[str, Any] | None:
    row = connection.execute(sa.select(RUNS).where(RUNS.c.id == run_id)).first()
    if row is None:
        return None
    values = row._asdict()
    corpus = get_corpus(connection, values["corpus_id"]) if values["corpus_id"] else None
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": time.time(),
        "run": {name: values[name] for name in _RUN_FIELDS},
        "corpus": None
        if corpus is None
        else {
            "name": corpus.name,
            "documents": [
                {"name": d.name, "sha256": d.sha256, "kind": d.kind, "chars": d.chars}
                for d in corpus.documents
            ],
        },
        "events": run_events(connection, run_id),
    }


def import_run(connection: Connection, data: dict[str, Any], corpus_id: int | None = None) -> str:
    """Store an exported run (the trace rebuilt from its events); returns its run id.
    A file that fails the checks of storage.import_check raises ExportFormatError, and nothing
    is stored (the caller's transaction is rolled back).

    Without `corpus_id`, the run joins the corpus it was asked of if this database holds it:
    the one corpus with exactly the export's documents (by sha256, in order)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ExportFormatError("This file is not an RLM Workbench run export.")
    _check_version(data.get("version"))
    check_export(data)  # nothing is written before the whole file passed
    try:
        return _store(connection, data, corpus_id)
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError, RecursionError) as exc:
        raise ExportFormatError(
            f"This run export could not be stored ({type(exc).__name__}): the file is damaged "
            "or hand-made. Nothing was imported."
        ) from exc


def _store(connection: Connection, data: dict[str, Any], corpus_id: int | None) -> str:
    run = {k: v for k, v in dict(data.get("run") or {}).items() if k in _RUN_FIELDS}
    run = scrub(run) | {"config": scrub(run.get("config") or {}, urls=True)}
    if isinstance(run.get("error"), str):
        run["error"] = redact(run["error"])
    run_id = run.get("id")
    if not run_id:
        raise ExportFormatError("This run export has no run id.")
    if connection.execute(sa.select(RUNS.c.id).where(RUNS.c.id == run_id)).first():
        raise StorageError(f"Run {run_id} is already in this database; delete it first.")
    if corpus_id is None:
        corpus_id = corpus_holding(connection, _sha256s(data.get("corpus")))
    insert_run(connection, run_id, started_at=run.get("started_at"), corpus_id=corpus_id)
    for seq, event in enumerate(data.get("events") or []):
        apply_event(connection, event_dict({**event, "run_id": run_id}), seq)
    if run.get("status") == "running":  # nobody is writing it here
        run["status"] = "interrupted"
    run.pop("id")
    connection.execute(RUNS.update().where(RUNS.c.id == run_id).values(**run, writer=None))
    return run_id


def _check_version(version: Any) -> None:
    """An integer from 1 to ours (bool is an int in Python, and not a version)."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ExportFormatError(
            f"This run export has no valid format version ({version!r}); it should be a whole "
            f"number from 1 to {VERSION}. The file is damaged or was not written by RLM Workbench."
        )
    if version > VERSION:
        raise ExportFormatError(
            f"This run export has format version {version}; this RLM Workbench reads up to "
            f"{VERSION}. Upgrade rlm-workbench to import it."
        )


def _sha256s(corpus: Any) -> list[str]:
    """The exported corpus's document hashes, in order; [] if any is missing."""
    documents = corpus.get("documents") if isinstance(corpus, dict) else None
    if not isinstance(documents, list):
        return []
    shas = [d.get("sha256") if isinstance(d, dict) else None for d in documents]
    return shas if all(isinstance(s, str) and s for s in shas) else []
