"""The host's copy of `context` (rlm_engine.held): in memory, or spilled to an unlinked file and
read back exactly, whole or a piece at a time."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from rlm_engine.held import PIECE, HeldContext, utf8

# pieces end inside multi-byte characters and between a lone surrogate and its would-be pair
BIG = "é" * (PIECE - 1) + "\ud83d" + "\ude00" + "€" * PIECE + "😀" * 7
CONTEXTS = ["naïve \udcff text", ["é€😀", "", "\x00\f"], [BIG, "", "ascii " * 1000], BIG]


@pytest.mark.parametrize("context", CONTEXTS, ids=range(len(CONTEXTS)))
def test_a_spilled_context_reads_back_exactly(context: str | list[str]) -> None:
    docs = [context] if isinstance(context, str) else context
    held = HeldContext(context)
    assert held.spill() and not held.in_memory
    assert [list(text) for text in held.texts()] == [
        [d[s : s + PIECE] for s in range(0, len(d), PIECE)] for d in docs
    ]
    assert [len(text) for text in held.texts()] == [len(d) for d in docs]
    assert b"".join(held.encoded()) == b"".join(utf8(d) for d in docs)
    assert held.head(5) == docs[0][:5] if docs else held.head(5) == ""
    assert held.metadata()["document_lengths"] == [len(d) for d in docs]
    assert not held.in_memory  # none of the above read it back whole
    assert held.get() == context
    assert held.in_memory  # read back once, then kept
    held.close()
    assert held.get() == context


def test_a_spill_in_the_background_serves_every_read_meanwhile() -> None:
    """Reads during the spill come from memory (`get` waits for the file); afterwards the text
    is in the file only, and reads back exactly."""
    docs = [BIG, "ascii " * 1000]
    held = HeldContext(list(docs))
    thread = held.spill_in_background()
    assert b"".join(held.encoded()) == b"".join(utf8(d) for d in docs)  # whenever it runs
    assert held.head(3) == BIG[:3]
    thread.join(60)
    assert not held.in_memory
    assert held.get() == docs


def test_pieces_and_encoding_from_memory_match_the_file() -> None:
    in_memory, spilled = HeldContext([BIG, "b"]), HeldContext([BIG, "b"])
    spilled.spill()
    assert [list(t) for t in in_memory.texts()] == [list(t) for t in spilled.texts()]
    assert b"".join(in_memory.encoded()) == b"".join(spilled.encoded())
    assert in_memory.in_memory


def test_without_a_temporary_directory_the_text_stays_in_memory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    held = HeldContext("the corpus")
    assert held.spill() is False
    assert held.in_memory and held.get() == "the corpus"


def test_the_file_has_no_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    HeldContext("secret corpus").spill()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad", [42, ["ok", 3], None])
def test_other_types_are_refused(bad: object) -> None:
    with pytest.raises(TypeError, match="list of str"):
        HeldContext(bad)  # type: ignore[arg-type]
