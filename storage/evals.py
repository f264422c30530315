"""Question sets, evaluations and their cells: `db.evals` (an `EvalStore`).

Plain data in, frozen records out, like the rest of storage; what a question, a configuration or
a grade means is rlm_eval's business. A cell is written once, when its run has ended and been
graded, so after a crash the cells present are exactly the work done: resuming runs the rest.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from storage.liveness import writer_alive
from storage.scrub import scrub
from storage.tables import EvalCell, EvalSet, Evaluation

if TYPE_CHECKING:
    from storage.database import Database

SETS, EVALS, CELLS = EvalSet.__table__, Evaluation.__table__, EvalCell.__table__


@dataclass(frozen=True)
class EvalSetInfo:
    id: int
    name: str
    questions: list[dict[str, Any]]
    created_at: float
    updated_at: float


@dataclass(frozen=True, kw_only=True)
class CellRecord:
    question_id: str
    config_name: str
    repeat: int
    run_id: str | None
    status: str
    answer: str | None
    error: str | None
    passed: bool
    score: float
    grade: dict[str, Any]
    iterations: int
    sub_calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    elapsed_s: float
    finished_at: float


@dataclass(frozen=True, kw_only=True)
class EvaluationInfo:
    """An evaluation; `cells` filled by `get` only. `status`: running, completed, limit (the cost
    cap stopped it), stopped, failed, interrupted (its process died: resume it)."""

    id: str
    name: str
    set_id: int | None
    questions: list[dict[str, Any]]
    corpus_id: int | None
    configs: list[dict[str, Any]]
    judge: dict[str, Any] | None
    parallel: int
    repeat: int
    max_cost_usd: float | None
    status: str
    error: str | None
    created_at: float
    finished_at: float | None
    elapsed_s: float
    n_cells: int = 0
    cells: tuple[CellRecord, ...] = field(default=())

    @property
    def total_cells(self) -> int:
        return len(self.questions) * len(self.configs) * self.repeat


_CELL_FIELDS = tuple(CellRecord.__dataclass_fields__)


class EvalStore:
    """Reads and writes of sets and evaluations; every call is one short transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # sets -----------------------------------------------------------------------------------

    def save_set(self, name: str, questions: list[dict[str, Any]]) -> int:
        now = time.time()
        with self._db._write() as c:
            values = dict(name=name, questions=questions, created_at=now, updated_at=now)
            return int(c.execute(SETS.insert().values(**values)).inserted_primary_key[0])

    def update_set(self, set_id: int, name: str, questions: list[dict[str, Any]]) -> bool:
        with self._db._write() as c:
            done = c.execute(
                SETS.update()
                .where(SETS.c.id == set_id)
                .values(name=name, questions=questions, updated_at=time.time())
            )
            return done.rowcount > 0

    def list_sets(self) -> list[EvalSetInfo]:
        with self._db._read() as c:
            rows = c.execute(sa.select(SETS).order_by(SETS.c.updated_at.desc())).all()
        return [EvalSetInfo(**row._mapping) for row in rows]

    def get_set(self, set_id: int) -> EvalSetInfo | None:
        with self._db._read() as c:
            row = c.execute(sa.select(SETS).where(SETS.c.id == set_id)).first()
        return EvalSetInfo(**row._mapping) if row else None

    def delete_set(self, set_id: int) -> bool:
        with self._db._write() as c:
            return c.execute(SETS.delete().where(SETS.c.id == set_id)).rowcount > 0

    # evaluations ----------------------------------------------------------------------------

    def create(
        self,
        *,
        name: str,
        questions: list[dict[str, Any]],
        configs: list[dict[str, Any]],
        corpus_id: int | None,
        set_id: int | None = None,
        judge: dict[str, Any] | None = None,
        parallel: int = 4,
        repeat: int = 1,
        max_cost_usd: float | None = None,
    ) -> str:
        eval_id = "ev-" + uuid.uuid4().hex[:12]
        values = dict(
            id=eval_id,
            name=name,
            set_id=set_id,
            questions=questions,
            corpus_id=corpus_id,
            configs=scrub(configs),
            judge=scrub(judge) if judge else None,
            parallel=parallel,
            repeat=repeat,
            max_cost_usd=max_cost_usd,
            status="running",
            created_at=time.time(),
            elapsed_s=0.0,
            writer=self._db.writer,
        )
        with self._db._write() as c:
            c.execute(EVALS.insert().values(**values))
        return eval_id

    def claim(self, eval_id: str) -> None:
        """This process now runs the evaluation (a resume): `running`, with us as its writer."""
        with self._db._write() as c:
            c.execute(
                EVALS.update()
                .where(EVALS.c.id == eval_id)
                .values(status="running", error=None, finished_at=None, writer=self._db.writer)
            )

    def finish(self, eval_id: str, status: str, sitting_s: float, error: str | None = None) -> None:
        """End a sitting: its status, and its time added to the evaluation's."""
        with self._db._write() as c:
            c.execute(
                EVALS.update()
                .where(EVALS.c.id == eval_id)
                .values(
                    status=status,
                    error=scrub(error) if error else None,
                    finished_at=time.time(),
                    elapsed_s=EVALS.c.elapsed_s + sitting_s,
                    writer=None,
                )
            )

    def add_cell(self, eval_id: str, **cell: Any) -> None:
        """Record one graded cell (replacing an earlier try of the same cell)."""
        values = {k: cell[k] for k in _CELL_FIELDS}
        values["error"] = scrub(values["error"]) if values["error"] else None
        key = (
            (CELLS.c.evaluation_id == eval_id)
            & (CELLS.c.question_id == values["question_id"])
            & (CELLS.c.config_name == values["config_name"])
            & (CELLS.c.repeat == values["repeat"])
        )
        with self._db._write() as c:
            c.execute(CELLS.delete().where(key))
            c.execute(CELLS.insert().values(evaluation_id=eval_id, **values))

    def list(self, limit: int = 100) -> list[EvaluationInfo]:
        """Newest first, with the number of cells done."""
        counts = (
            sa.select(CELLS.c.evaluation_id, sa.func.count().label("n"))
            .group_by(CELLS.c.evaluation_id)
            .subquery()
        )
        query = (
            sa.select(EVALS, sa.func.coalesce(counts.c.n, 0).label("n_cells"))
            .outerjoin(counts, counts.c.evaluation_id == EVALS.c.id)
            .order_by(EVALS.c.created_at.desc())
            .limit(limit)
        )
        with self._db._read() as c:
            rows = c.execute(query).all()
        return [_evaluation(row._mapping, row.n_cells) for row in rows]

    def get(self, eval_id: str) -> EvaluationInfo | None:
        with self._db._read() as c:
            row = c.execute(sa.select(EVALS).where(EVALS.c.id == eval_id)).first()
            if row is None:
                return None
            cells = c.execute(
                sa.select(*[CELLS.c[name] for name in _CELL_FIELDS])
                .where(CELLS.c.evaluation_id == eval_id)
                .order_by(CELLS.c.id)
            ).all()
        records = tuple(CellRecord(**cell._mapping) for cell in cells)
        return _evaluation(row._mapping, len(records), records)

    def delete(self, eval_id: str) -> bool:
        with self._db._write() as c:
            c.execute(CELLS.delete().where(CELLS.c.evaluation_id == eval_id))
            return c.execute(EVALS.delete().where(EVALS.c.id == eval_id)).rowcount > 0


def _evaluation(row: Any, n_cells: int, cells: tuple[CellRecord, ...] = ()) -> EvaluationInfo:
    data = {k: row[k] for k in EvaluationInfo.__dataclass_fields__ if k in row}
    data.pop("n_cells", None)
    data.pop("cells", None)
    if data["status"] == "running" and (
        row["writer"] is None or writer_alive(row["writer"]) is False
    ):
        data["status"] = "interrupted"  # its process died: `rlm eval resume` continues it
    return EvaluationInfo(**data, n_cells=n_cells, cells=cells)
