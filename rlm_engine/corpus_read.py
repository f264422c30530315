"""Reading files without trusting them: only regular files are opened, and never past a size cap.

A FIFO named `pipe.txt` would block a plain `read()` for ever and a link to `/dev/zero` would read
until memory runs out, so a file is stat-ed before it is opened (a device is never opened), opened
non-blocking, checked again on the open descriptor (it may have been swapped meanwhile), and read
to at most the cap plus one byte.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from rlm_engine.documents import FileProblem

__all__ = [
    "DEFAULT_MAX_DOCUMENT_CHARS",
    "DEFAULT_MAX_FILE_MB",
    "max_document_chars",
    "max_file_bytes",
    "read_regular_file",
    "too_large",
]

DEFAULT_MAX_FILE_MB = 100
MAX_FILE_VAR = "RLM_MAX_FILE_MB"
DEFAULT_MAX_DOCUMENT_CHARS = 50_000_000
MAX_DOCUMENT_VAR = "RLM_MAX_DOCUMENT_CHARS"
_CHUNK = 1 << 20


def positive_env(name: str, default: int) -> int:
    """A positive whole number from the environment, else the default (a bad value is ignored:
    a cap must never be switched off by a typo)."""
    try:
        value = int(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


def max_file_bytes() -> int:
    """The largest file the loader reads: `RLM_MAX_FILE_MB` (default 100) MB."""
    return positive_env(MAX_FILE_VAR, DEFAULT_MAX_FILE_MB) * 1024 * 1024


def max_document_chars() -> int:
    """The most characters one document keeps: `RLM_MAX_DOCUMENT_CHARS` (default 50,000,000)."""
    return positive_env(MAX_DOCUMENT_VAR, DEFAULT_MAX_DOCUMENT_CHARS)


def too_large(name: str, size: int | None, limit: int) -> FileProblem:
    shown = "more than" if size is None else f"{size / 1048576:,.1f} MB,"
    return FileProblem(
        name,
        f"{name} is {shown} over the limit of {limit / 1048576:,.0f} MB per file: skipped. "
        f"Split it, or raise {MAX_FILE_VAR}.",
    )


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


def _not_regular(name: str, path: Path, mode: int) -> FileProblem:
    via = " (through a symbolic link)" if path.is_symlink() else ""
    return FileProblem(
        name, f"{name} is {_kind(mode)}{via}, not a regular file: skipped (only files are read)."
    )


def read_regular_file(name: str, path: Path, limit: int) -> bytes | FileProblem:
    """The file's bytes, or the problem: not a regular file, over `limit` bytes, unreadable."""
    try:
        before = path.stat()  # follows links: a link to a device is a device
        if not stat.S_ISREG(before.st_mode):
            return _not_regular(name, path, before.st_mode)
        if before.st_size > limit:
            return too_large(name, before.st_size, limit)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        return FileProblem(
            name, f"{name} could not be read ({exc.strerror}): check its permissions."
        )
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):  # swapped for something else since the stat
            return _not_regular(name, path, opened.st_mode)
        os.set_blocking(fd, True)
        # The whole file in one read where it can (one buffer: no join copying 40 MB beside
        # the chunks), and a byte more, to see a file that grew; then chunks for what is left.
        chunks, total, want = [], 0, opened.st_size + 1
        while total <= limit:
            chunk = os.read(fd, min(max(want, _CHUNK), limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            want = 0
        if total > limit:  # it grew while we read
            return too_large(name, None, limit)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    except OSError as exc:
        return FileProblem(
            name, f"{name} could not be read ({exc.strerror}): check its permissions."
        )
    finally:
        os.close(fd)
