"""Comparisons: groups of runs of one question, one run per configuration (the Compare page).
A run joins its group when it is recorded (`Database.recorder(comparison_id=..., label=...)`)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storage import queries
from storage.query_results import ComparisonInfo, RunFilter, RunSummary
from storage.scrub import scrub
from storage.tables import Comparison

COMPARISONS = Comparison.__table__


def create_comparison(
    connection: Connection, question: str, corpus_id: int | None, labels: Iterable[str]
) -> int:
    result = connection.execute(
        COMPARISONS.insert().values(
            question=question,
            corpus_id=corpus_id,
            labels=scrub(list(labels)),
            created_at=time.time(),
        )
    )
    return int(result.inserted_primary_key[0])


def list_comparisons(connection: Connection) -> list[ComparisonInfo]:
    """Newest first, without their runs."""
    rows = connection.execute(
        sa.select(COMPARISONS).order_by(COMPARISONS.c.created_at.desc(), COMPARISONS.c.id.desc())
    )
    return [_comparison(row) for row in rows]


def get_comparison(connection: Connection, comparison_id: int) -> ComparisonInfo | None:
    """The comparison with its runs, oldest first."""
    row = connection.execute(
        sa.select(COMPARISONS).where(COMPARISONS.c.id == comparison_id)
    ).first()
    if row is None:
        return None
    runs = queries.list_runs(connection, RunFilter(comparison_id=comparison_id), limit=10_000)
    return _comparison(row, tuple(reversed(runs)))


def delete_comparison(connection: Connection, comparison_id: int) -> bool:
    """Delete the group; its runs stay."""
    result = connection.execute(COMPARISONS.delete().where(COMPARISONS.c.id == comparison_id))
    return result.rowcount > 0


def _comparison(row: Any, runs: tuple[RunSummary, ...] = ()) -> ComparisonInfo:
    return ComparisonInfo(
        id=row.id,
        question=row.question,
        corpus_id=row.corpus_id,
        labels=tuple(row.labels or ()),
        created_at=row.created_at,
        runs=runs,
    )
