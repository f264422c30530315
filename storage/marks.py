"""What a user adds to a saved run in History: a star and tags, to find it again."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.engine import Connection

from storage.tables import Run, RunTag

RUNS, TAGS = Run.__table__, RunTag.__table__
MAX_TAG_CHARS = 100


def clean_tags(tags: Iterable[str]) -> list[str]:
    """Tags as stored: spaces trimmed and collapsed, empty ones dropped, each once (any case:
    the first spelling wins), at most MAX_TAG_CHARS each."""
    kept: dict[str, str] = {}
    for tag in tags:
        words = " ".join(str(tag).split())[:MAX_TAG_CHARS]
        if words:
            kept.setdefault(words.casefold(), words)
    return sorted(kept.values(), key=str.casefold)


def set_starred(connection: Connection, run_id: str, starred: bool) -> bool:
    result = connection.execute(RUNS.update().where(RUNS.c.id == run_id).values(starred=starred))
    return result.rowcount > 0


def set_tags(connection: Connection, run_id: str, tags: Iterable[str]) -> list[str]:
    """Replace the run's tags; returns them as stored (see clean_tags)."""
    cleaned = clean_tags(tags)
    connection.execute(TAGS.delete().where(TAGS.c.run_id == run_id))
    if cleaned:
        connection.execute(TAGS.insert(), [{"run_id": run_id, "tag": t} for t in cleaned])
    return cleaned
