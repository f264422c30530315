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

from storage.corpora import get_corpus
from storage.errors import ExportFormatError, StorageError
from storage.fold import apply_event, event_dict, insert_run
from storage.models import Run
from storage.queries import run_events
from storage.scrub import scrub, scrub_text

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
    """Store an exported run (the trace rebuilt from its events); returns its run id."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ExportFormatError("This file is not an RLM Workbench run export.")
    version = data.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise ExportFormatError(
            f"This run export has format version {version}; this RLM Workbench reads up to "
            f"{VERSION}. Upgrade rlm-workbench to import it."
        )
    run = {k: v for k, v in dict(data.get("run") or {}).items() if k in _RUN_FIELDS}
    run = scrub(run) | {"config": scrub(run.get("config") or {}, urls=True)}
    if isinstance(run.get("error"), str):
        run["error"] = scrub_text(run["error"])
    run_id = run.get("id")
    if not run_id:
        raise ExportFormatError("This run export has no run id.")
    if connection.execute(sa.select(RUNS.c.id).where(RUNS.c.id == run_id)).first():
        raise StorageError(f"Run {run_id} is already in this database; delete it first.")
    insert_run(connection, {"run_id": run_id, "time": run.get("started_at")}, corpus_id=corpus_id)
    for seq, event in enumerate(data.get("events") or []):
        apply_event(connection, event_dict({**event, "run_id": run_id}), seq)
    if run.get("status") == "running":  # nobody is writing it here
        run["status"] = "interrupted"
    run.pop("id")
    connection.execute(RUNS.update().where(RUNS.c.id == run_id).values(**run, writer=None))
    return run_id
