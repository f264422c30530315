"""Folding one engine event into the tables, in the caller's transaction (storage.recorder
drives it as a run happens; storage.export replays a whole run).

Each event is kept whole in `events` (JSON, in arrival order: `seq`) and, in the same transaction,
read back as the engine's typed event and folded into the tables that queries use: the run's row
(status and running totals), iterations and sub-calls (the usage per model is summed from them).
Their rows are what the engine's fold (rlm_engine.trace) makes of the event, so a field is read in
one place; a code block is read from its event alone.

Running totals while a run is live are `rlm_engine.trace.tally`'s, the engine's counting rules;
RunFinished (depth 0) then sets the engine's own totals.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rlm_engine.events import (
    Event,
    FinalAnswer,
    PassagesFound,
    RootResponse,
    RunFinished,
    RunStarted,
    SourcesFound,
    SubCallFinished,
    SubCallStarted,
    event_from_dict,
)
from rlm_engine.redact import redact
from rlm_engine.trace import Tally, call_of, iteration_of, tally
from storage import sources
from storage.errors import StorageError
from storage.scrub import scrub
from storage.storable import storable
from storage.tables import EventRow, Iteration, Run, SubCall

RUNS, EVENTS = Run.__table__, EventRow.__table__
ITERATIONS, SUB_CALLS = Iteration.__table__, SubCall.__table__


def event_dict(event: Any) -> dict[str, Any]:
    """An engine Event (anything with `to_dict()`) or a dict, as a secret-free JSON-able dict.

    Prompts, responses and code are kept as written (the user's data); error and notice text
    loses URL credentials and key-shaped words."""
    data = event.to_dict() if hasattr(event, "to_dict") else dict(event)
    if "type" not in data or "run_id" not in data:
        raise StorageError(f"Not an event (needs 'type' and 'run_id'): {sorted(data)[:8]}")
    data = storable(scrub(data))
    for key in ("config", "context_meta"):
        if isinstance(data.get(key), dict):
            data[key] = scrub(data[key], urls=True)
    for key in ("error", "message"):  # provider errors echo keys and URLs back
        if isinstance(data.get(key), str):
            data[key] = redact(data[key])
    return data


def _trace_keys(event: Event) -> dict[str, Any]:
    return {"run_id": event.run_id, "depth": event.depth, "parent_call_id": event.parent_call_id}


def _row(table: sa.Table, event: Event, item: object, **more: Any) -> dict[str, Any]:
    """A derived table's row: what the engine's fold made of `event` (a typed item of
    rlm_engine.trace), in the columns the table has, with the event's place in the run tree."""
    values = {k: v for k, v in vars(item).items() if k in table.c}
    return {**values, **_trace_keys(event), **more}


_B = sa.bindparam
# Statements built once: recording is the hot path (SQLAlchemy then reuses their compiled form).
_ADD_TOTALS = (
    RUNS.update()
    .where(RUNS.c.id == _B("p_run"))
    .values(
        input_tokens=RUNS.c.input_tokens + _B("p_in", type_=sa.Integer),
        output_tokens=RUNS.c.output_tokens + _B("p_out", type_=sa.Integer),
        cost_usd=RUNS.c.cost_usd + _B("p_cost", type_=sa.Float),  # NULL stays NULL: unknown
        sub_calls=RUNS.c.sub_calls + _B("p_calls", type_=sa.Integer),
        iterations=RUNS.c.iterations + _B("p_its", type_=sa.Integer),
    )
)
_TOUCH = RUNS.update().where(RUNS.c.id == _B("p_run")).values(last_event_at=_B("p_time"))
_RUNNING_CALL = (
    sa.select(SUB_CALLS.c.id, SUB_CALLS.c.kind)
    .where(
        SUB_CALLS.c.run_id == _B("p_run"),
        SUB_CALLS.c.call_id == _B("p_call"),
        SUB_CALLS.c.status == "running",
    )
    .order_by(SUB_CALLS.c.id.desc())
    .limit(1)
)
_FINISH_CALL = (
    SUB_CALLS.update()
    .where(SUB_CALLS.c.id == _B("p_id"))
    .values(
        status=_B("p_status"),
        response=_B("p_response"),
        error=_B("p_error"),
        input_tokens=_B("p_in"),
        output_tokens=_B("p_out"),
        cost_usd=_B("p_cost"),
        elapsed_s=_B("p_elapsed"),
        finished_at=_B("p_time"),
    )
)


def _add_totals(connection: Connection, run_id: str, counted: Tally) -> None:
    if counted == Tally():
        return
    connection.execute(
        _ADD_TOTALS,
        {
            "p_run": run_id,
            "p_in": counted.usage.input_tokens,
            "p_out": counted.usage.output_tokens,
            "p_cost": counted.cost_usd,
            "p_calls": counted.sub_calls,
            "p_its": counted.iterations,
        },
    )


def insert_run(
    connection: Connection,
    run_id: str,
    started: RunStarted | None = None,
    *,
    started_at: float | None = None,
    **extra: Any,
) -> None:
    """The run's row: from its depth-0 RunStarted, or bare (started at `started_at`) when the
    recorder never saw it; an import then writes the row's values itself."""
    config = started.config if started is not None else {}
    root, sub = config.get("root") or {}, config.get("sub") or {}
    when = started.time if started is not None else started_at or time.time()
    connection.execute(
        RUNS.insert().values(
            id=run_id,
            question=started.question if started is not None else "",
            root_provider=root.get("provider") or "",
            root_model=root.get("model") or "",
            sub_provider=sub.get("provider"),
            sub_model=sub.get("model"),
            config=config,
            context_meta=started.context_meta if started is not None else {},
            status="running",
            iterations=0,
            sub_calls=0,
            input_tokens=0,
            output_tokens=0,
            cost_usd=0.0,
            started_at=when,
            last_event_at=when,
            **extra,
        )
    )


def apply_event(connection: Connection, data: Mapping[str, Any], seq: int) -> None:
    """Store one event (a dict of `event_dict`) and fold it into the derived tables (the run's
    row must exist). An event the engine could not have sent (a field missing) raises TypeError."""
    event = event_from_dict(dict(data))
    connection.execute(
        EVENTS.insert(),
        {
            "run_id": event.run_id,
            "seq": seq,
            "type": event.type,
            "depth": event.depth,
            "time": event.time,
            "data": dict(data),
        },
    )
    match event:
        case RootResponse():
            _root_response(connection, event)
        case SubCallStarted():
            _sub_call_started(connection, event)
        case SubCallFinished():
            _sub_call_finished(connection, event)
        case FinalAnswer() if event.depth == 0:
            connection.execute(
                RUNS.update().where(RUNS.c.id == event.run_id).values(answer=event.answer)
            )
        case RunFinished() if event.depth == 0:
            _run_finished(connection, event)
        case PassagesFound():
            sources.passages_found(connection, event)
        case SourcesFound():
            sources.sources_found(connection, event)
    connection.execute(_TOUCH, {"p_run": event.run_id, "p_time": event.time})


def _root_response(connection: Connection, event: RootResponse) -> None:
    row = _row(ITERATIONS, event, iteration_of(event), iteration=event.iteration, time=event.time)
    connection.execute(ITERATIONS.insert(), row)
    _add_totals(connection, event.run_id, tally(event))


def _sub_call_started(connection: Connection, event: SubCallStarted) -> None:
    row = _row(SUB_CALLS, event, call_of(event), status="running", started_at=event.time)
    connection.execute(SUB_CALLS.insert(), row)
    _add_totals(connection, event.run_id, tally(event))


def _sub_call_finished(connection: Connection, event: SubCallFinished) -> None:
    keys = {"p_run": event.run_id, "p_call": event.call_id}
    row = connection.execute(_RUNNING_CALL, keys).first()
    if row is None:  # finished without a recorded start: keep what we know (its row, its usage)
        _sub_call_started(
            connection,
            SubCallStarted(
                **_trace_keys(event),
                time=event.time,
                call_id=event.call_id,
                iteration=0,
                kind="llm",
                model="",
                prompt="",
            ),
        )
        row = connection.execute(_RUNNING_CALL, keys).one()
    connection.execute(
        _FINISH_CALL,
        {
            "p_id": row.id,
            "p_status": "error" if event.error else "ok",
            "p_response": event.response,
            "p_error": event.error,
            "p_in": event.usage.input_tokens,
            "p_out": event.usage.output_tokens,
            "p_cost": event.cost_usd,
            "p_elapsed": event.elapsed_s,
            "p_time": event.time,
        },
    )
    _add_totals(connection, event.run_id, tally(event, row.kind))


def _run_finished(connection: Connection, event: RunFinished) -> None:
    connection.execute(
        RUNS.update()
        .where(RUNS.c.id == event.run_id)
        .values(
            status=event.status,
            answer=event.answer,
            error=event.error,
            iterations=event.iterations,
            sub_calls=event.sub_calls,
            input_tokens=event.input_tokens,
            output_tokens=event.output_tokens,
            cost_usd=event.cost_usd,
            elapsed_s=event.elapsed_s,
            finished_at=event.time,
            writer=None,
        )
    )


def next_seq(connection: Connection, data: Mapping[str, Any], **extra: Any) -> int:
    """The seq for a run's first event seen by a recorder: 0 for a new run (its row is created
    from this event, normally its RunStarted), or one past what is stored (a restarted app)."""
    event = event_from_dict(dict(data))
    exists = connection.execute(sa.select(RUNS.c.id).where(RUNS.c.id == event.run_id)).first()
    if exists is None:
        started = event if isinstance(event, RunStarted) else None
        insert_run(connection, event.run_id, started, started_at=event.time, **extra)
        return 0
    last = connection.execute(
        sa.select(sa.func.max(EVENTS.c.seq)).where(EVENTS.c.run_id == event.run_id)
    ).scalar()
    return 0 if last is None else last + 1
