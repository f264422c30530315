"""Folding one engine event into the tables, in the caller's transaction (storage.recorder
drives it as a run happens; storage.export replays a whole run).

Each event is kept whole in `events` (JSON, in arrival order: `seq`) and, in the same transaction,
folded into the tables that queries use: the run's row (status and running totals), iterations,
code blocks and sub-calls.

Running totals while a run is live: tokens and cost of every root reply (any depth) and of every
`llm` sub-call (an `rlm` sub-call's own usage is not added: its child's calls are already counted);
sub-calls = `llm` sub-calls + root replies of child RLMs (depth > 0), as the engine counts them.
RunFinished (depth 0) then sets the engine's own totals.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rlm_engine.redact import redact
from storage import sources
from storage.errors import StorageError
from storage.scrub import scrub
from storage.storable import storable
from storage.tables import CodeBlock, EventRow, Iteration, Run, SubCall

RUNS, EVENTS = Run.__table__, EventRow.__table__
ITERATIONS, CODE_BLOCKS, SUB_CALLS = Iteration.__table__, CodeBlock.__table__, SubCall.__table__


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


def _usage(data: Mapping[str, Any]) -> tuple[int, int]:
    usage = data.get("usage") or {}
    return int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)


def _trace_keys(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "run_id": data["run_id"],
        "depth": int(data.get("depth") or 0),
        "parent_call_id": data.get("parent_call_id"),
    }


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
    )
)
_RAISE_ITERATIONS = (
    RUNS.update()
    .where(RUNS.c.id == _B("p_run"), RUNS.c.iterations < _B("p_it", type_=sa.Integer))
    .values(iterations=_B("p_it2", type_=sa.Integer))
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


def _add_totals(
    connection: Connection,
    run_id: str,
    *,
    tokens: tuple[int, int],
    cost: float | None,
    sub_calls: int = 0,
) -> None:
    connection.execute(
        _ADD_TOTALS,
        {
            "p_run": run_id,
            "p_in": tokens[0],
            "p_out": tokens[1],
            "p_cost": cost,
            "p_calls": sub_calls,
        },
    )


def insert_run(connection: Connection, data: Mapping[str, Any], **extra: Any) -> None:
    """The run's row, from a depth-0 RunStarted."""
    config = data.get("config") or {}
    root, sub = config.get("root") or {}, config.get("sub") or {}
    when = float(data.get("time") or time.time())
    connection.execute(
        RUNS.insert().values(
            id=data["run_id"],
            question=data.get("question") or "",
            root_provider=root.get("provider") or "",
            root_model=root.get("model") or "",
            sub_provider=sub.get("provider"),
            sub_model=sub.get("model"),
            config=config,
            context_meta=data.get("context_meta") or {},
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
    """Store one event and fold it into the derived tables (the run's row must exist)."""
    kind, depth, run_id = data["type"], int(data.get("depth") or 0), data["run_id"]
    when = float(data.get("time") or time.time())
    connection.execute(
        EVENTS.insert(),
        {
            "run_id": run_id,
            "seq": seq,
            "type": kind,
            "depth": depth,
            "time": when,
            "data": dict(data),
        },
    )
    handler = _HANDLERS.get(kind)
    if handler is not None:
        handler(connection, data)
    connection.execute(_TOUCH, {"p_run": run_id, "p_time": when})


def _root_response(connection: Connection, data: Mapping[str, Any]) -> None:
    tokens, cost = _usage(data), data.get("cost_usd")
    keys = _trace_keys(data)
    connection.execute(
        ITERATIONS.insert(),
        dict(
            **keys,
            iteration=int(data.get("iteration") or 0),
            text=data.get("text") or "",
            model=data.get("model") or "",
            input_tokens=tokens[0],
            output_tokens=tokens[1],
            cost_usd=cost,
            elapsed_s=float(data.get("elapsed_s") or 0.0),
            forced=bool(data.get("forced")),
            time=float(data.get("time") or 0.0),
        ),
    )
    _add_totals(
        connection, keys["run_id"], tokens=tokens, cost=cost, sub_calls=int(keys["depth"] > 0)
    )
    if keys["depth"] == 0:
        iteration = int(data.get("iteration") or 0)
        connection.execute(
            _RAISE_ITERATIONS, {"p_run": keys["run_id"], "p_it": iteration, "p_it2": iteration}
        )


def _code_executed(connection: Connection, data: Mapping[str, Any]) -> None:
    connection.execute(
        CODE_BLOCKS.insert(),
        dict(
            **_trace_keys(data),
            iteration=int(data.get("iteration") or 0),
            block_index=int(data.get("block_index") or 0),
            code=data.get("code") or "",
            output=data.get("output") or "",
            output_chars=int(data.get("output_chars") or 0),
            elapsed_s=float(data.get("elapsed_s") or 0.0),
            error=data.get("error"),
            restarted=bool(data.get("restarted")),
            time=float(data.get("time") or 0.0),
        ),
    )


def _sub_call_started(connection: Connection, data: Mapping[str, Any]) -> None:
    connection.execute(
        SUB_CALLS.insert(),
        dict(
            **_trace_keys(data),
            call_id=str(data.get("call_id") or ""),
            iteration=int(data.get("iteration") or 0),
            kind=data.get("kind") or "llm",
            model=data.get("model") or "",
            prompt=data.get("prompt") or "",
            status="running",
            input_tokens=0,
            output_tokens=0,
            started_at=float(data.get("time") or 0.0),
        ),
    )


def _sub_call_finished(connection: Connection, data: Mapping[str, Any]) -> None:
    run_id, call_id = data["run_id"], str(data.get("call_id") or "")
    row = connection.execute(_RUNNING_CALL, {"p_run": run_id, "p_call": call_id}).first()
    if row is None:  # finished without a recorded start: keep what we know
        _sub_call_started(connection, {**data, "kind": "llm", "prompt": "", "model": ""})
        row = connection.execute(_RUNNING_CALL, {"p_run": run_id, "p_call": call_id}).one()
    tokens, cost = _usage(data), data.get("cost_usd")
    connection.execute(
        _FINISH_CALL,
        {
            "p_id": row.id,
            "p_status": "error" if data.get("error") else "ok",
            "p_response": data.get("response"),
            "p_error": data.get("error"),
            "p_in": tokens[0],
            "p_out": tokens[1],
            "p_cost": cost,
            "p_elapsed": data.get("elapsed_s"),
            "p_time": data.get("time"),
        },
    )
    if row.kind != "rlm":
        _add_totals(connection, run_id, tokens=tokens, cost=cost, sub_calls=1)


def _final_answer(connection: Connection, data: Mapping[str, Any]) -> None:
    if int(data.get("depth") or 0) == 0:
        connection.execute(
            RUNS.update().where(RUNS.c.id == data["run_id"]).values(answer=data.get("answer"))
        )


def _run_finished(connection: Connection, data: Mapping[str, Any]) -> None:
    if int(data.get("depth") or 0) != 0:
        return
    connection.execute(
        RUNS.update()
        .where(RUNS.c.id == data["run_id"])
        .values(
            status=data.get("status") or "failed",
            answer=data.get("answer"),
            error=data.get("error"),
            iterations=int(data.get("iterations") or 0),
            sub_calls=int(data.get("sub_calls") or 0),
            input_tokens=int(data.get("input_tokens") or 0),
            output_tokens=int(data.get("output_tokens") or 0),
            cost_usd=data.get("cost_usd"),
            elapsed_s=data.get("elapsed_s"),
            finished_at=data.get("time"),
            writer=None,
        )
    )


_HANDLERS: dict[str, Callable[[Connection, Mapping[str, Any]], None]] = {
    "root_response": _root_response,
    "code_executed": _code_executed,
    "sub_call_started": _sub_call_started,
    "sub_call_finished": _sub_call_finished,
    "final_answer": _final_answer,
    "run_finished": _run_finished,
    "passages_found": sources.passages_found,
    "sources_found": sources.sources_found,
}


def next_seq(connection: Connection, data: Mapping[str, Any], **extra: Any) -> int:
    """The seq for a run's first event seen by a recorder: 0 for a new run (its row is created
    from this event, normally its RunStarted), or one past what is stored (a restarted app)."""
    run_id = data["run_id"]
    exists = connection.execute(sa.select(RUNS.c.id).where(RUNS.c.id == run_id)).first()
    if exists is None:
        started = data if data["type"] == "run_started" else {"run_id": run_id, **data}
        insert_run(connection, {**started, "depth": 0}, **extra)
        return 0
    last = connection.execute(
        sa.select(sa.func.max(EVENTS.c.seq)).where(EVENTS.c.run_id == run_id)
    ).scalar()
    return 0 if last is None else last + 1
