"""Corpora and their documents. A document's text is stored once per sha256, however many corpora
(or uploads) hold it, in pieces (storage.texts); a corpus lists its documents in upload order
under their file names."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storage import texts
from storage.errors import StorageError
from storage.query_results import CorpusInfo, DocumentInfo
from storage.sources import store_file
from storage.tables import Corpus, CorpusDocument, Document

CORPORA, DOCUMENTS, LINKS = Corpus.__table__, Document.__table__, CorpusDocument.__table__
CHUNKS = texts.CHUNKS


def _field(document: Any, name: str, default: Any = None) -> Any:
    if isinstance(document, dict):
        return document.get(name, default)
    return getattr(document, name, default)


def document_values(document: Any) -> tuple[dict[str, Any], texts.Text]:
    """A corpus Document (or any object/dict with its fields) as a `documents` row, and its text
    (stored apart, in pieces: storage.texts). The text may be given in pieces (texts.Text)."""
    text = _field(document, "text")
    if not texts.is_text(text):
        raise StorageError(f"Document {_field(document, 'name')!r} has no text to store.")
    sha = _field(document, "sha256") or texts.sha256(text)
    offsets = [int(o) for o in (_field(document, "page_offsets") or [])]
    values = {
        "sha256": sha,
        "name": str(_field(document, "name") or "document"),
        "kind": str(_field(document, "kind") or "text"),
        "chars": len(text),
        "n_pages": int(_field(document, "n_pages") or len(offsets)),  # 0: a text file
        "page_offsets": offsets,
        "text": "",  # the text goes to document_text_chunks (storage.texts)
        "created_at": time.time(),
    }
    return values, text


def _store_document(connection: Connection, values: dict[str, Any], text: texts.Text) -> int:
    """The id of the document with this sha256, stored now if it is new. A text stored already is
    not sent again (the database would copy each piece to do nothing with it)."""
    stored = connection.execute(
        sa.select(DOCUMENTS.c.id).where(DOCUMENTS.c.sha256 == values["sha256"])
    ).scalar()
    if stored is not None:
        return int(stored)
    insert = _insert_or_nothing(connection.dialect.name)
    if insert is not None:  # another writer may store the same text meanwhile: its pieces win
        statement = (
            insert(DOCUMENTS).values(**values).on_conflict_do_nothing(index_elements=["sha256"])
        )
        if connection.dialect.name == "postgresql":
            statement = statement.returning(DOCUMENTS.c.id)  # a row: this insert stored it
            inserted = connection.execute(statement).scalar() is not None
        else:  # SQLite: RETURNING needs 3.35
            inserted = connection.execute(statement).rowcount == 1
    else:
        exists = connection.execute(
            sa.select(DOCUMENTS.c.id).where(DOCUMENTS.c.sha256 == values["sha256"])
        ).first()
        inserted = exists is None
        if inserted:
            connection.execute(DOCUMENTS.insert().values(**values))
    document_id = connection.execute(
        sa.select(DOCUMENTS.c.id).where(DOCUMENTS.c.sha256 == values["sha256"])
    ).scalar_one()
    if inserted:
        texts.write_text(connection, document_id, text)
    return int(document_id)


def _insert_or_nothing(dialect: str) -> Any:
    """The dialect's INSERT that can do nothing on a conflict, or None. Imported when needed: a
    dialect's module costs ~2 MiB, and `rlm ask` opens storage beside the sandbox and the corpus."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        return None
    return insert


def create_corpus(connection: Connection, name: str) -> int:
    name = name.strip()
    if not name:
        raise StorageError("A corpus needs a name.")
    result = connection.execute(CORPORA.insert().values(name=name, created_at=time.time()))
    return int(result.inserted_primary_key[0])


def add_documents(connection: Connection, corpus_id: int, documents: Iterable[Any]) -> None:
    """Append documents; one already in this corpus (same sha256) is not added twice."""
    if connection.execute(sa.select(CORPORA.c.id).where(CORPORA.c.id == corpus_id)).first() is None:
        raise StorageError(f"No corpus with id {corpus_id}.")
    present = set(
        connection.execute(
            sa.select(LINKS.c.document_id).where(LINKS.c.corpus_id == corpus_id)
        ).scalars()
    )
    position = connection.execute(
        sa.select(sa.func.coalesce(sa.func.max(LINKS.c.position), -1)).where(
            LINKS.c.corpus_id == corpus_id
        )
    ).scalar_one()
    for document in documents:
        values, text = document_values(document)
        document_id = _store_document(connection, values, text)
        if values["kind"] == "pdf":
            store_file(connection, document_id, _field(document, "data"))
        if document_id in present:
            continue
        present.add(document_id)
        position += 1
        connection.execute(
            LINKS.insert().values(
                corpus_id=corpus_id, position=position, document_id=document_id, name=values["name"]
            )
        )


def _documents(connection: Connection, corpus_id: int) -> tuple[DocumentInfo, ...]:
    query = (
        sa.select(
            DOCUMENTS.c.id,
            DOCUMENTS.c.sha256,
            LINKS.c.name,
            DOCUMENTS.c.kind,
            DOCUMENTS.c.chars,
            DOCUMENTS.c.n_pages,
            DOCUMENTS.c.page_offsets,
            LINKS.c.position,
        )
        .join(LINKS, LINKS.c.document_id == DOCUMENTS.c.id)
        .where(LINKS.c.corpus_id == corpus_id)
        .order_by(LINKS.c.position)
    )
    return tuple(
        DocumentInfo(**{**row._asdict(), "page_offsets": tuple(row.page_offsets or ())})
        for row in connection.execute(query)
    )


def list_corpora(connection: Connection, corpus_id: int | None = None) -> list[CorpusInfo]:
    """All corpora, newest first, with document counts and sizes (no documents listed)."""
    sizes = (
        sa.select(
            LINKS.c.corpus_id,
            sa.func.count().label("n_documents"),
            sa.func.sum(DOCUMENTS.c.chars).label("total_chars"),
        )
        .join(DOCUMENTS, DOCUMENTS.c.id == LINKS.c.document_id)
        .group_by(LINKS.c.corpus_id)
        .subquery()
    )
    query = sa.select(
        CORPORA.c.id,
        CORPORA.c.name,
        CORPORA.c.created_at,
        sa.func.coalesce(sizes.c.n_documents, 0),
        sa.func.coalesce(sizes.c.total_chars, 0),
    ).outerjoin(sizes, sizes.c.corpus_id == CORPORA.c.id)
    if corpus_id is not None:
        query = query.where(CORPORA.c.id == corpus_id)
    query = query.order_by(CORPORA.c.created_at.desc(), CORPORA.c.id.desc())
    return [
        CorpusInfo(
            id=r[0], name=r[1], created_at=r[2], n_documents=int(r[3]), total_chars=int(r[4])
        )
        for r in connection.execute(query)
    ]


def get_corpus(connection: Connection, corpus_id: int) -> CorpusInfo | None:
    found = list_corpora(connection, corpus_id)
    if not found:
        return None
    info = found[0]
    return CorpusInfo(
        id=info.id,
        name=info.name,
        created_at=info.created_at,
        n_documents=info.n_documents,
        total_chars=info.total_chars,
        documents=_documents(connection, corpus_id),
    )


def corpus_context(connection: Connection, corpus_id: int) -> list[str]:
    """The documents' texts in corpus order, each joined from its pieces."""
    query = (
        sa.select(LINKS.c.position, CHUNKS.c.text)
        .outerjoin(CHUNKS, CHUNKS.c.document_id == LINKS.c.document_id)
        .where(LINKS.c.corpus_id == corpus_id)
        .order_by(LINKS.c.position, CHUNKS.c.seq)
    )
    return [text for _, text in texts.joined(connection.execute(query))]


def document_text(connection: Connection, document_id: int) -> str | None:
    query = sa.select(DOCUMENTS.c.id).where(DOCUMENTS.c.id == document_id)
    if connection.execute(query).first() is None:
        return None
    return texts.read_text(connection, document_id)


def rename_corpus(connection: Connection, corpus_id: int, name: str) -> bool:
    if not name.strip():
        raise StorageError("A corpus needs a name.")
    result = connection.execute(
        CORPORA.update().where(CORPORA.c.id == corpus_id).values(name=name.strip())
    )
    return result.rowcount > 0


def delete_corpus(connection: Connection, corpus_id: int) -> bool:
    """Delete a corpus and the documents no other corpus holds; its runs stay (corpus unset)."""
    connection.execute(LINKS.delete().where(LINKS.c.corpus_id == corpus_id))
    result = connection.execute(CORPORA.delete().where(CORPORA.c.id == corpus_id))
    _delete_unused_documents(connection)
    return result.rowcount > 0


def remove_documents(connection: Connection, corpus_id: int, positions: Iterable[int]) -> int:
    """Take documents (by `DocumentInfo.position`) out of a corpus; the others keep their
    order. A text no other corpus holds is deleted. Returns how many were removed."""
    wanted = [int(p) for p in positions]
    if not wanted:
        return 0
    result = connection.execute(
        LINKS.delete().where(LINKS.c.corpus_id == corpus_id, LINKS.c.position.in_(wanted))
    )
    _delete_unused_documents(connection)
    return result.rowcount


def _delete_unused_documents(connection: Connection) -> None:
    used = sa.select(LINKS.c.document_id)
    texts.delete_unlinked(connection, used)
    connection.execute(DOCUMENTS.delete().where(DOCUMENTS.c.id.not_in(used)))


def corpus_holding(connection: Connection, sha256s: list[str]) -> int | None:
    """The one corpus whose documents are exactly these, in this order (an imported run's
    corpus found again), or None when there is none or more than one."""
    if not sha256s:
        return None
    query = (
        sa.select(LINKS.c.corpus_id, DOCUMENTS.c.sha256)
        .join(DOCUMENTS, LINKS.c.document_id == DOCUMENTS.c.id)
        .where(
            LINKS.c.corpus_id.in_(
                sa.select(LINKS.c.corpus_id)
                .join(DOCUMENTS, LINKS.c.document_id == DOCUMENTS.c.id)
                .where(DOCUMENTS.c.sha256 == sha256s[0])
            )
        )
        .order_by(LINKS.c.corpus_id, LINKS.c.position)
    )
    found: dict[int, list[str]] = {}
    for row in connection.execute(query):
        found.setdefault(row.corpus_id, []).append(row.sha256)
    matches = [corpus_id for corpus_id, shas in found.items() if shas == sha256s]
    return matches[0] if len(matches) == 1 else None
