"""Sources and passages of runs (folded from the engine's `sources_found` and `passages_found`
events), and the documents they point into, PDF bytes included, to show them in place.

The events arrive typed (storage.fold); their passages as
{"document", "document_index", "page", "start", "end", "text"}.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rlm_engine.events import PassagesFound, SourcesFound
from storage.tables import CorpusDocument, Document, DocumentFile, RunPassage, RunSource
from storage.texts import read_text

SOURCES, PASSAGES = RunSource.__table__, RunPassage.__table__
FILES, DOCUMENTS, LINKS = DocumentFile.__table__, Document.__table__, CorpusDocument.__table__


def _place(p: Mapping[str, Any]) -> dict[str, Any]:
    page = p.get("page")
    return {
        "document": str(p.get("document") or ""),
        "document_index": int(p.get("document_index") or 0),
        "page": None if page is None else int(page),
        "start_char": int(p.get("start") or 0),
        "end_char": int(p.get("end") or 0),
    }


def sources_found(connection: Connection, event: SourcesFound) -> None:
    """The answer's sources replace any the run had (the event is the last word)."""
    connection.execute(SOURCES.delete().where(SOURCES.c.run_id == event.run_id))
    found = [s for s in event.sources if isinstance(s, Mapping)]
    if found:
        connection.execute(
            SOURCES.insert(),
            [
                {
                    "run_id": event.run_id,
                    "rank": rank,
                    **_place(s),
                    "text": str(s.get("text") or ""),
                    "cited": rank <= event.cited,
                }
                for rank, s in enumerate(found, start=1)
            ],
        )


def passages_found(connection: Connection, event: PassagesFound) -> None:
    passages = [p for p in event.passages if isinstance(p, Mapping)]
    if not passages:
        return
    where = {
        "run_id": event.run_id,
        "depth": event.depth,
        "parent_call_id": event.parent_call_id,
        "origin": event.origin,
        "iteration": event.iteration,
        "block_index": event.block_index,
        "call_id": event.call_id,
    }
    connection.execute(PASSAGES.insert(), [{**where, **_place(p)} for p in passages])


def _as_passage(row: Any) -> dict[str, Any]:
    values = row._asdict()
    values["start"], values["end"] = values.pop("start_char"), values.pop("end_char")
    return values


def run_sources(connection: Connection, run_id: str) -> list[dict[str, Any]]:
    """The answer's sources, best first: the passage keys plus `rank` and `cited`."""
    query = (
        sa.select(*[c for c in SOURCES.c if c.name not in ("id", "run_id")])
        .where(SOURCES.c.run_id == run_id)
        .order_by(SOURCES.c.rank)
    )
    return [_as_passage(r) for r in connection.execute(query)]


def run_passages(connection: Connection, run_id: str) -> list[dict[str, Any]]:
    """Every passage the trace held, in order, with where it was seen (no text: see offsets)."""
    query = (
        sa.select(*[c for c in PASSAGES.c if c.name not in ("id", "run_id")])
        .where(PASSAGES.c.run_id == run_id)
        .order_by(PASSAGES.c.id)
    )
    return [_as_passage(r) for r in connection.execute(query)]


def store_file(connection: Connection, document_id: int, data: bytes | None) -> None:
    """Keep a PDF's bytes once per document."""
    if not data:
        return
    exists = connection.execute(
        sa.select(FILES.c.document_id).where(FILES.c.document_id == document_id)
    ).first()
    if exists is None:
        connection.execute(FILES.insert().values(document_id=document_id, data=bytes(data)))


def corpus_document(connection: Connection, corpus_id: int, index: int) -> dict[str, Any] | None:
    """Document `index` (0-based, as in `context`) of a corpus: name, kind, text, page offsets
    and, for a PDF stored with its bytes, `data` (else None)."""
    query = (
        sa.select(
            LINKS.c.document_id,
            LINKS.c.name,
            DOCUMENTS.c.kind,
            DOCUMENTS.c.page_offsets,
            FILES.c.data,
        )
        .join(DOCUMENTS, LINKS.c.document_id == DOCUMENTS.c.id)
        .outerjoin(FILES, FILES.c.document_id == DOCUMENTS.c.id)
        .where(LINKS.c.corpus_id == corpus_id)
        .order_by(LINKS.c.position)
        .offset(index)
        .limit(1)
    )
    row = connection.execute(query).first()
    if row is None or index < 0:
        return None
    values = row._asdict()
    document_id = values.pop("document_id")
    values = {**values, "text": read_text(connection, document_id)}
    values["page_offsets"] = tuple(values["page_offsets"] or ())
    values["data"] = None if values["data"] is None else bytes(values["data"])
    return values
