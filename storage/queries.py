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


def run_filters(only: RunFilter, runs: Any = RUNS) -> list[sa.ColumnElement[bool]]:
    """The WHERE clauses of `only` (see RunFilter), over `runs` (the table or an alias)."""
    where: list[sa.ColumnElement[bool]] = []
    if only.starred is not None:
        where.append(runs.c.starred.is_(only.starred))
    if only.tag:
        where.append(runs.c.id.in_(sa.select(TAGS.c.run_id).where(TAGS.c.tag == only.tag)))
    if only.conversation is not None:
        # History groups by the conversation, or by the run itself when it has none
        where.append(sa.func.coalesce(runs.c.conversation_id, runs.c.id) == only.conversation)
    if only.corpus_id is not None:
        where.append(runs.c.corpus_id == only.corpus_id)
    if only.comparison_id is not None:
        where.append(runs.c.comparison_id == only.comparison_id)
    if only.model:
        where.append(sa.or_(runs.c.root_model == only.model, runs.c.sub_model == only.model))
    if only.status:
        where.append(runs.c.status == only.status)
    if only.text:
        where.append(
            sa.or_(
                runs.c.question.icontains(only.text, autoescape=True),
                runs.c.answer.icontains(only.text, autoescape=True),
            )
        )
    if only.since is not None:
        where.append(runs.c.started_at >= _seconds(only.since))
    if only.until is not None:
        where.append(runs.c.started_at < _seconds(only.until))
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
        # A run is its conversation's row when no newer run of that conversation matches: an
        # index lookup per run, so the newest page is read without sorting every run.
        later = RUNS.alias("later")
        same = sa.and_(later.c.conversation_id == RUNS.c.conversation_id, *run_filters(only, later))
        newer = sa.or_(
            later.c.started_at > RUNS.c.started_at,
            sa.and_(later.c.started_at == RUNS.c.started_at, later.c.id > RUNS.c.id),
        )
        turns = sa.select(sa.func.count()).select_from(later).where(same).scalar_subquery()
        query = query.add_columns(
            sa.case((RUNS.c.conversation_id.is_(None), 1), else_=turns).label("turns")
        ).where(
            sa.or_(
                RUNS.c.conversation_id.is_(None),
                ~sa.exists().select_from(later).where(same, newer),
            )
        )
    query = query.order_by(RUNS.c.started_at.desc(), RUNS.c.id.desc()).limit(limit).offset(offset)
    rows = connection.execute(query).all()
    tags = run_tags(connection, [row.run_id for row in rows])
    return [_summary(row, tags) for row in rows]


def count_runs(connection: Connection, only: RunFilter, *, grouped: bool = False) -> int:
    """How many runs match (`grouped`: how many conversations)."""
    counted = sa.func.count()
    if grouped:  # runs on their own, plus one per conversation
        alone = sa.func.count() - sa.func.count(RUNS.c.conversation_id)
        counted = alone + sa.func.count(sa.distinct(RUNS.c.conversation_id))
    query = sa.select(counted).select_from(RUNS).where(*run_filters(only))
    return int(connection.execute(query).scalar_one())


def run_models(connection: Connection) -> list[str]:
    """Every root and sub model runs used, sorted: what a run list's `model` filter matches
    (read from the runs alone, not from every call of every trace)."""
    roots = sa.select(RUNS.c.root_model.label("model")).distinct()
    subs = sa.select(RUNS.c.sub_model).where(RUNS.c.sub_model.is_not(None)).distinct()
    return sorted({m for m in connection.execute(sa.union(roots, subs)).scalars() if m})


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
