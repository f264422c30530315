"""The host's copy of a run's `context`, which it may keep in a file instead of in memory.

The worker holds `context` (the REPL's variable). The host needs the text again only now and then:
to send it to the worker (and again to a restarted one), to save the corpus at the first reply,
for the checks of cited text and sub-call prompts, the first look, the fallback and the sources
index. At 40M characters its own copy in memory was 40 MiB of the process tree's peak, beside
the worker's (bench/README.md, "Memory at 40M").

`HeldContext(context)` keeps the text in memory, as before. After `spill()` it is in an unlinked
temporary file instead and the host holds none of it: what can go a piece at a time (sending it
to a worker, saving the corpus, the first document's head) reads pieces of the file; what needs
the whole text (`get()`: the checks, the first look, the fallback, the index) reads it back once
and keeps it. The file has no name: nothing can open it by path, and a worker with the host's uid
that could reach it through /proc could reach the host's memory as well.
"""

from __future__ import annotations

import codecs
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from typing import IO, Any

log = logging.getLogger(__name__)

Context = str | list[str]
PIECE = 1 << 20
"""Characters of a text encoded, or decoded back, at a time (and of each piece `pieces` yields)."""


def utf8(text: str) -> bytes:
    """How a text travels and is kept: UTF-8, a lone surrogate as itself."""
    return text.encode("utf-8", "surrogatepass")


def utf8_size(text: str) -> int:
    """The length of `text` in UTF-8, without an encoded copy of it (ASCII: its length)."""
    if text.isascii():
        return len(text)
    return sum(len(utf8(text[s : s + PIECE])) for s in range(0, len(text), PIECE))


class HeldText:
    """One document of a `HeldContext`: `len()` is its characters; iterating gives its text in
    pieces of `PIECE` characters (the last shorter), from memory or from the file. What storage
    takes as a document's text without the host holding it whole (storage.texts)."""

    def __init__(self, held: HeldContext, index: int) -> None:
        self._held, self._index = held, index

    def __len__(self) -> int:
        return self._held.lengths[self._index]

    def __iter__(self) -> Iterator[str]:
        return self._held.pieces(self._index)


class HeldContext:
    """A run's `context` as the host keeps it (see the module docstring). Thread-safe."""

    def __init__(self, context: Context) -> None:
        if not isinstance(context, str) and not (
            isinstance(context, list) and all(isinstance(d, str) for d in context)
        ):
            raise TypeError("context must be a str or a list of str (one string per document)")
        self.single = isinstance(context, str)
        texts = [context] if isinstance(context, str) else context
        self.lengths = tuple(len(t) for t in texts)
        self.sizes = tuple(utf8_size(t) for t in texts)  # each text's UTF-8 bytes
        self._starts = [sum(self.sizes[:i]) for i in range(len(texts))]  # where each is in the file
        self._value: Context | None = context
        self._file: IO[bytes] | None = None
        self._lock = threading.Lock()

    @property
    def in_memory(self) -> bool:
        """Whether the host holds the text now (False: it is in the file only)."""
        return self._value is not None

    def texts(self) -> list[HeldText]:
        """Each document, to be read a piece at a time."""
        return [HeldText(self, i) for i in range(len(self.lengths))]

    def metadata(self) -> dict[str, Any]:
        """What the root model is told about `context` (rlm_engine.corpus.context_metadata)."""
        from rlm_engine.corpus import lengths_metadata

        return lengths_metadata("str" if self.single else "list[str]", list(self.lengths))

    def spill(self) -> bool:
        """Move the text to the file and drop the host's copy (the caller must hold no other
        reference to it for the memory to be freed). False, the text kept in memory, when the
        file cannot be written (no temporary directory, a full disk)."""
        with self._lock:
            value = self._value
            if value is None:
                return True
            try:
                file = tempfile.TemporaryFile(prefix="rlm-context-")  # noqa: SIM115 (kept open)
            except OSError as exc:
                log.warning("context kept in memory: no temporary file (%s)", exc)
                return False
            try:
                for data in self.encoded():
                    file.write(data)
                file.flush()
            except OSError as exc:
                file.close()
                log.warning("context kept in memory: the temporary file failed (%s)", exc)
                return False
            self._file, self._value = file, None
            return True

    def spill_in_background(self) -> threading.Thread:
        """`spill` in a thread of its own. Writing 40 MB is mostly waiting for the disk, which a
        run's first request need not wait for: until the file is written every read is served
        from memory, and `get` waits for it."""
        thread = threading.Thread(target=self.spill, daemon=True, name="rlm-context-spill")
        thread.start()
        return thread

    def get(self) -> Context:
        """The whole context: the host's copy, read back from the file (and then kept) if it
        was spilled."""
        with self._lock:
            if self._value is None:
                texts = [self._read(i) for i in range(len(self.lengths))]
                self._value = texts[0] if self.single else texts
            return self._value

    def head(self, chars: int) -> str:
        """The first `chars` characters of the first document, without reading the rest."""
        if not self.lengths or chars <= 0:
            return ""
        value = self._value
        if value is not None:
            return (value if isinstance(value, str) else value[0])[:chars]
        out = ""
        for piece in self.pieces(0):
            out += piece
            if len(out) >= chars:
                break
        return out[:chars]

    def pieces(self, index: int) -> Iterator[str]:
        """Document `index` in pieces of `PIECE` characters, the last shorter."""
        value = self._value
        if value is not None:
            text = value if isinstance(value, str) else value[index]
            for start in range(0, len(text), PIECE):
                yield text[start : start + PIECE]
            return
        decoder = codecs.getincrementaldecoder("utf-8")("surrogatepass")
        buffer = ""
        for data in self._file_blocks(index):
            buffer += decoder.decode(data)
            while len(buffer) >= PIECE:
                yield buffer[:PIECE]
                buffer = buffer[PIECE:]
        buffer += decoder.decode(b"", final=True)
        if buffer:
            yield buffer

    def encoded(self) -> Iterator[bytes]:
        """Every text in UTF-8, in order, a piece at a time: what a worker is sent."""
        for index in range(len(self.lengths)):
            if self._value is None:
                yield from self._file_blocks(index)
            else:
                yield from map(utf8, self.pieces(index))

    def close(self) -> None:
        """Delete the file. A text that was in the file only cannot be read any more."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def _file_blocks(self, index: int) -> Iterator[bytes]:
        """Document `index`'s UTF-8 bytes from the file, a piece at a time."""
        file = self._file
        if file is None:
            raise RuntimeError("the context's file is closed")
        position, left = self._starts[index], self.sizes[index]
        fd = file.fileno()
        while left:
            data = os.pread(fd, min(PIECE, left), position)
            if not data:
                raise OSError(f"the context's file ended {left:,} bytes early")
            position += len(data)
            left -= len(data)
            yield data

    def _read(self, index: int) -> str:
        """Document `index` read back whole, decoded a piece at a time onto the end of one str
        (with one reference, CPython grows it in place: no list of pieces beside it)."""
        text = ""
        for piece in self.pieces(index):
            text += piece
        return text
