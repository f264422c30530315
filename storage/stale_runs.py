"""Runs left `running` by a process that is gone (killed, crashed, rebooted): found by their
writer token (storage.liveness) and marked `interrupted`, ending at their last event. Runs of
live writers, here or elsewhere, and of writers that cannot be judged, stay."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storage.liveness import writer_alive
from storage.tables import Run

RUNS = Run.__table__


def stale_runs(connection: Connection) -> list[str]:
    """The ids of the `running` runs whose writer process is surely gone."""
    running = connection.execute(
        sa.select(RUNS.c.id, RUNS.c.writer).where(RUNS.c.status == "running")
    ).all()
    return [row.id for row in running if row.writer is None or writer_alive(row.writer) is False]


def mark_interrupted(connection: Connection, run_ids: list[str]) -> None:
    """Those of `run_ids` still `running` become `interrupted`, finished at their last event."""
    connection.execute(
        RUNS.update()
        .where(RUNS.c.id.in_(run_ids), RUNS.c.status == "running")
        .values(
            status="interrupted",
            finished_at=RUNS.c.last_event_at,
            elapsed_s=RUNS.c.last_event_at - RUNS.c.started_at,
            error="The process recording this run stopped before it finished.",
            writer=None,
        )
    )
