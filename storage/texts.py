"""Documents' texts, kept as pieces of at most CHUNK_CHARS characters (`document_text_chunks`).

A text goes to the database a piece at a time and comes back joined: no bound value is ever
larger than a piece. A 40 MB text written as one value had SQLite copy it whole, twice, while it
built the record (~80 MB beside the text), and its statement cache then kept the copy for the
connection's life. Pieces are cut by characters, so none splits a character's UTF-8 bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storage.tables import DocumentTextChunk

CHUNKS = DocumentTextChunk.__table__
CHUNK_CHARS = 1 << 20


class TextPieces(Protocol):
    """A text given in pieces: `len()` its characters, iterating its pieces in order (e.g.
    rlm_engine.held.HeldText, a text the host keeps in a file, not in memory)."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[str]: ...


Text = str | TextPieces


def is_text(value: object) -> bool:
    """A str, or a text given in pieces (not bytes, nor a list of anything)."""
    if isinstance(value, str):
        return True
    return (
        hasattr(value, "__len__")
        and hasattr(value, "__iter__")
        and not isinstance(value, bytes | bytearray | memoryview | list | tuple | dict | set)
    )


def pieces(text: Text) -> Iterator[str]:
    """`text` in order, at most CHUNK_CHARS characters at a time (nothing for the empty text);
    a text given in pieces has any longer piece cut."""
    if isinstance(text, str):
        for start in range(0, len(text), CHUNK_CHARS):
            yield text[start : start + CHUNK_CHARS]
        return
    for piece in text:
        if not isinstance(piece, str):
            raise TypeError(f"a piece of a text must be a str, not {type(piece).__name__}")
        for start in range(0, len(piece), CHUNK_CHARS):
            yield piece[start : start + CHUNK_CHARS]


def sha256(text: Text) -> str:
    """The sha256 of `text` in UTF-8, encoded a piece at a time (no encoded copy of it all)."""
    digest = hashlib.sha256()
    for piece in pieces(text):
        digest.update(piece.encode())
    return digest.hexdigest()


def write_text(connection: Connection, document_id: int, text: Text) -> None:
    """Store the text of a new document: one statement, one bound piece, at a time."""
    for seq, piece in enumerate(pieces(text)):
        connection.execute(CHUNKS.insert(), {"document_id": document_id, "seq": seq, "text": piece})


def read_text(connection: Connection, document_id: int) -> str:
    """The document's text, its pieces joined in order ("" when it has none)."""
    query = (
        sa.select(CHUNKS.c.text).where(CHUNKS.c.document_id == document_id).order_by(CHUNKS.c.seq)
    )
    return "".join(connection.execute(query).scalars())


def joined(rows: Iterable[Any]) -> Iterator[tuple[Any, str]]:
    """(key, text) per key, from rows of (key, piece) ordered by key then seq; a key whose only
    piece is None (an outer join found none) has the empty text."""
    key: Any = None
    parts: list[str] = []
    started = False
    for row_key, piece in rows:
        if started and row_key != key:
            yield key, "".join(parts)
            parts = []
        key, started = row_key, True
        if piece is not None:
            parts.append(piece)
    if started:
        yield key, "".join(parts)


def delete_unlinked(connection: Connection, used: sa.Select[Any]) -> None:
    """Delete the pieces of documents not in `used` (ON DELETE CASCADE does it too, where the
    connection enforces foreign keys)."""
    connection.execute(CHUNKS.delete().where(CHUNKS.c.document_id.not_in(used)))
