"""Reading runs back: the list, one run's trace, totals per model. Functions over a connection
that return frozen records (storage.query_results)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from storage.query_results import ModelTotals, RunDetail, RunFilter, RunSummary
from storage.tables import Corpus, EventRow, Iteration, Run, RunTag, SubCall

RUNS, EVENTS, CORPORA = Run.__table__, EventRow.__table__, Corpus.__table__
ITERATIONS, SUB_CALLS = Iteration.__table__, SubCall.__table__
TAGS = RunTag.__table__
group_key = sa.func.coalesce(RUNS.c.conversation_id, RUNS.c.id)
"""What History groups runs by: their conversation, or the run itself."""

PREVIEW_CHARS = 2_000
"""A listed run carries this much of its answer and error: listing never loads whole answers
(`get_run` does)."""
_SUMMARY_COLUMNS = [
    RUNS.c.id.label("run_id"),
    RUNS.c.question,
    RUNS.c.status,
    sa.func.substr(RUNS.c.answer, 1, PREVIEW_CHARS).label("answer"),
    sa.func.substr(RUNS.c.error, 1, PREVIEW_CHARS).label("error"),
    RUNS.c.root_provider,
    RUNS.c.root_model,
    RUNS.c.sub_provider,
    RUNS.c.sub_model,
    RUNS.c.corpus_id,
    CORPORA.c.name.label("corpus_name"),
    RUNS.c.comparison_id,
    RUNS.c.label,
    RUNS.c.iterations,
    RUNS.c.sub_calls,
    RUNS.c.input_tokens,
    RUNS.c.output_tokens,
    RUNS.c.cost_usd,
    RUNS.c.started_at,
    RUNS.c.finished_at,
    RUNS.c.elapsed_s,
    RUNS.c.starred,
    RUNS.c.conversation_id,
]


def _seconds(value: float | datetime | None) -> float | None:
    return value.timestamp() if isinstance(value, datetime) else value


def run_filters(only: RunFilter) -> list[sa.ColumnElement[bool]]:
    """The WHERE clauses of `only` (see RunFilter)."""
    where: list[sa.ColumnElement[bool]] = []
    if only.starred is not None:
        where.append(RUNS.c.starred.is_(only.starred))
    if only.tag:
        where.append(RUNS.c.id.in_(sa.select(TAGS.c.run_id).where(TAGS.c.tag == only.tag)))
    if only.conversation is not None:
        where.append(group_key == only.conversation)
    if only.corpus_id is not None:
        where.append(RUNS.c.corpus_id == only.corpus_id)
    if only.comparison_id is not None:
        where.append(RUNS.c.comparison_id == only.comparison_id)
    if only.model:
        where.append(sa.or_(RUNS.c.root_model == only.model, RUNS.c.sub_model == only.model))
    if only.status:
        where.append(RUNS.c.status == only.status)
    if only.text:
        where.append(
            sa.or_(
                RUNS.c.question.icontains(only.text, autoescape=True),
                RUNS.c.answer.icontains(only.text, autoescape=True),
            )
        )
    if only.since is not None:
        where.append(RUNS.c.started_at >= _seconds(only.since))
    if only.until is not None:
        where.append(RUNS.c.started_at < _seconds(only.until))
    return where


def _summary_select(*, whole: bool = False) -> sa.Select[Any]:
    columns = list(_SUMMARY_COLUMNS)
    if whole:
        columns[3:5] = [RUNS.c.answer, RUNS.c.error]
    return sa.select(*columns).select_from(
        RUNS.outerjoin(CORPORA, RUNS.c.corpus_id == CORPORA.c.id)
    )


def _summary(row: Row[Any], tags: dict[str, tuple[str, ...]]) -> RunSummary:
    values = row._asdict()
    return RunSummary(**values, tags=tags.get(values["run_id"], ()))


def run_tags(connection: Connection, run_ids: list[str]) -> dict[str, tuple[str, ...]]:
    """Each run's tags, alphabetically (runs without any are left out)."""
    if not run_ids:
        return {}
    query = sa.select(TAGS.c.run_id, TAGS.c.tag).where(TAGS.c.run_id.in_(run_ids))
    found: dict[str, list[str]] = {}
    for run_id, tag in connection.execute(query.order_by(TAGS.c.tag)):
        found.setdefault(run_id, []).append(tag)
    return {run_id: tuple(tags) for run_id, tags in found.items()}


def list_runs(
    connection: Connection,
    only: RunFilter,
    *,
    limit: int = 50,
    offset: int = 0,
    grouped: bool = False,
) -> list[RunSummary]:
    """Newest first. `grouped`: one row per conversation, its newest matching run, with
    `turns` the number of its runs that matched."""
    query = _summary_select().where(*run_filters(only))
    if grouped:
        newest = sa.func.row_number().over(
            partition_by=group_key, order_by=(RUNS.c.started_at.desc(), RUNS.c.id.desc())
        )
        picked = (
            sa.select(
                RUNS.c.id,
                newest.label("rank"),
                sa.func.count().over(partition_by=group_key).label("turns"),
            )
            .where(*run_filters(only))
            .subquery()
        )
        query = (
            _summary_select()
            .add_columns(picked.c.turns)
            .join(picked, picked.c.id == RUNS.c.id)
            .where(picked.c.rank == 1)
        )
    query = query.order_by(RUNS.c.started_at.desc(), RUNS.c.id.desc()).limit(limit).offset(offset)
    rows = connection.execute(query).all()
    tags = run_tags(connection, [row.run_id for row in rows])
    return [_summary(row, tags) for row in rows]


def count_runs(connection: Connection, only: RunFilter, *, grouped: bool = False) -> int:
    """How many runs match (`grouped`: how many conversations)."""
    counted = sa.func.count(sa.distinct(group_key)) if grouped else sa.func.count()
    query = sa.select(counted).select_from(RUNS).where(*run_filters(only))
    return int(connection.execute(query).scalar_one())


def all_tags(connection: Connection) -> list[str]:
    """Every tag in use, the most used first."""
    used = sa.func.count().label("used")
    query = sa.select(TAGS.c.tag, used).group_by(TAGS.c.tag).order_by(used.desc(), TAGS.c.tag)
    return [row.tag for row in connection.execute(query)]


def get_run(connection: Connection, run_id: str) -> RunDetail | None:
    row = connection.execute(
        _summary_select(whole=True)
        .add_columns(RUNS.c.config, RUNS.c.context_meta)
        .where(RUNS.c.id == run_id)
    ).first()
    if row is None:
        return None
    return RunDetail(**row._asdict(), tags=run_tags(connection, [run_id]).get(run_id, ()))


def run_events(connection: Connection, run_id: str) -> list[dict[str, Any]]:
    query = sa.select(EVENTS.c.data).where(EVENTS.c.run_id == run_id).order_by(EVENTS.c.seq)
    return [dict(data) for data in connection.execute(query).scalars()]


def totals_by_model(connection: Connection) -> list[ModelTotals]:
    """Root replies and `llm` sub-calls per model (an `rlm` sub-call is counted through its
    child's own calls), most tokens first."""
    calls = sa.union_all(
        sa.select(
            ITERATIONS.c.model,
            ITERATIONS.c.run_id,
            ITERATIONS.c.input_tokens,
            ITERATIONS.c.output_tokens,
            ITERATIONS.c.cost_usd,
        ),
        sa.select(
            SUB_CALLS.c.model,
            SUB_CALLS.c.run_id,
            SUB_CALLS.c.input_tokens,
            SUB_CALLS.c.output_tokens,
            SUB_CALLS.c.cost_usd,
        ).where(SUB_CALLS.c.kind != "rlm", SUB_CALLS.c.status != "running"),
    ).subquery()
    tokens = sa.func.sum(calls.c.input_tokens + calls.c.output_tokens)
    query = (
        sa.select(
            calls.c.model,
            sa.func.count().label("calls"),
            sa.func.count(sa.distinct(calls.c.run_id)).label("runs"),
            sa.func.coalesce(sa.func.sum(calls.c.input_tokens), 0).label("input_tokens"),
            sa.func.coalesce(sa.func.sum(calls.c.output_tokens), 0).label("output_tokens"),
            sa.func.coalesce(sa.func.sum(calls.c.cost_usd), 0.0).label("cost_usd"),
            sa.func.sum(sa.case((calls.c.cost_usd.is_(None), 1), else_=0)).label("unpriced_calls"),
        )
        .group_by(calls.c.model)
        .order_by(tokens.desc(), calls.c.model)
    )
    return [
        ModelTotals(
            model=row.model,
            calls=int(row.calls),
            runs=int(row.runs),
            input_tokens=int(row.input_tokens),
            output_tokens=int(row.output_tokens),
            cost_usd=float(row.cost_usd),
            unpriced_calls=int(row.unpriced_calls),
        )
        for row in connection.execute(query)
    ]
