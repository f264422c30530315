"""Documents' texts are stored in pieces (storage.texts) and read back identical; no statement
ever binds a whole large text (the database would copy it, and SQLite keep the copy)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from rlm_engine.held import HeldContext
from storage import Database
from storage.errors import StorageError
from storage.texts import CHUNK_CHARS

# 1-, 2-, 3- and 4-byte characters: the pieces' ends fall inside the UTF-8 of many of them
UNICODE = ("aé€𝄞" * (CHUNK_CHARS // 2 + 3))[: 2 * CHUNK_CHARS + 3]


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    with Database.open(db_url) as database:
        yield database


def _bound(db: Database, action) -> list[object]:
    """The parameters of every statement `action` sends."""
    bound: list[object] = []

    def seen(_conn: object, _cursor: object, _sql: str, params: object, *_: object) -> None:
        bound.append(params)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", seen)
    try:
        action()
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", seen)
    return bound


def _strings(params: object) -> Iterator[str]:
    """Every string bound in a statement's parameters (a tuple, a dict, or a list of them)."""
    if isinstance(params, str):
        yield params
    elif isinstance(params, dict):
        for value in params.values():
            yield from _strings(value)
    elif isinstance(params, list | tuple):
        for value in params:
            yield from _strings(value)


def test_a_text_of_several_pieces_reads_back_identical(db: Database) -> None:
    docs = [
        {"name": "big.txt", "text": UNICODE},
        {"name": "empty.txt", "text": ""},
        {"name": "exact.txt", "text": "x" * CHUNK_CHARS},
        {"name": "small.txt", "text": "ünïcode\nline"},
    ]
    saved: list[object] = []
    bound = _bound(db, lambda: saved.append(db.save_corpus("c", docs)))
    corpus = saved[0]
    texts = [d["text"] for d in docs]
    assert db.corpus_context(corpus.id) == texts
    assert [db.document_text(d.id) for d in corpus.documents] == texts
    assert [db.corpus_document(corpus.id, i)["text"] for i in range(4)] == texts
    assert corpus.documents[0].chars == len(UNICODE)
    assert corpus.documents[0].sha256 == hashlib.sha256(UNICODE.encode()).hexdigest()
    longest = max(len(s) for params in bound for s in _strings(params))
    assert longest == CHUNK_CHARS  # a piece at a time, never the whole text


def test_pieces_go_with_their_document(db: Database, db_url: str) -> None:
    """A document no corpus holds any more is deleted with its pieces; a shared one stays."""
    first = db.save_corpus("one", [{"name": "a.txt", "text": UNICODE}])
    second = db.save_corpus("two", [{"name": "a.txt", "text": UNICODE}, {"name": "b", "text": "b"}])
    db.delete_corpus(first.id)
    assert db.corpus_context(second.id) == [UNICODE, "b"]
    db.delete_corpus(second.id)
    engine = sa.create_engine(db_url)
    with engine.connect() as connection:
        left = connection.execute(sa.text("SELECT count(*) FROM document_text_chunks")).scalar()
    engine.dispose()
    assert left == 0


def test_a_text_given_in_pieces_is_stored_identical(db: Database) -> None:
    """The CLI saves the corpus from the host's file (rlm_engine.held), never holding it whole:
    storage takes a text as its length and its pieces."""
    held = HeldContext([UNICODE, "ünïcode\nline", ""])
    assert held.spill()
    docs = [{"name": f"d{i}.txt", "text": text} for i, text in enumerate(held.texts())]
    saved: list[object] = []
    bound = _bound(db, lambda: saved.append(db.save_corpus("c", docs)))
    corpus = saved[0]
    assert db.corpus_context(corpus.id) == [UNICODE, "ünïcode\nline", ""]
    assert [d.chars for d in corpus.documents] == [len(UNICODE), 12, 0]
    assert corpus.documents[0].sha256 == hashlib.sha256(UNICODE.encode()).hexdigest()
    assert max(len(s) for params in bound for s in _strings(params)) == CHUNK_CHARS
    assert not held.in_memory


def test_a_text_that_is_not_one_is_refused(db: Database) -> None:
    with pytest.raises(StorageError, match="no text"):
        db.save_corpus("c", [{"name": "a.txt", "text": b"bytes"}])
