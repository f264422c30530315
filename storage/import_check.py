"""Checks on a run export before any of it is stored: an export is a file from anywhere.

A hand-made or hostile export could hold bogus event types, a dict as the question, a path such as
`../../etc/passwd` as the run id, numbers no column can hold, or nesting deep enough to exhaust
the stack. `check_export` refuses all of these with one error type, `ExportFormatError`, whose
message says where the problem is; nothing is written before it has passed.
"""

from __future__ import annotations

import math
import re
from typing import Any

import sqlalchemy as sa

from storage.errors import ExportFormatError
from storage.tables import Run

# Every event type the engine emits (tests/test_storage_import_check.py keeps this in step).
KNOWN_EVENT_TYPES = frozenset(
    {
        "run_started",
        "method_chosen",
        "root_response",
        "root_delta",  # never stored by a recorder; harmless in a file
        "code_executed",
        "sub_call_started",
        "sub_call_finished",
        "notice",
        "guard_fired",
        "final_answer",
        "run_finished",
        "passages_found",
        "citation_checked",
        "sources_found",
    }
)
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")  # no dots, slashes or spaces
MAX_NESTING = 32  # JSON levels below the document: configs and events need a handful
MAX_DEPTH = 16  # child RLM levels (the app offers 3)
MAX_EVENTS = 1_000_000
MAX_INT = 2**31 - 1  # PostgreSQL's INTEGER
MAX_FLOAT = 1e15  # seconds since 1970, costs, durations: far beyond any real value
_INT_FIELDS = ("iteration", "block_index", "output_chars", "iterations", "sub_calls")
_INT_FIELDS += ("input_tokens", "output_tokens", "cited", "rejected")
_INT_FIELDS += ("cached_tokens", "cache_write_tokens", "offset")
_FLOAT_FIELDS = ("time", "elapsed_s", "cost_usd", "tokens_per_s", "first_token_s")
_TEXT_FIELDS = ("question", "text", "model", "code", "output", "error", "call_id", "kind")
_TEXT_FIELDS += ("prompt", "response", "message", "answer", "source", "status", "reason")
_TEXT_FIELDS += ("parent_call_id", "method", "guard", "action")


def check_export(data: Any) -> None:
    """Raise ExportFormatError unless `data` (a parsed export, format and version already
    checked) is safe to store: a sane run row and a list of known, well-typed events."""
    _check_nesting(data)
    run = data.get("run")
    if not isinstance(run, dict):
        raise ExportFormatError("This run export has no 'run' object.")
    run_id = run.get("id")
    if not isinstance(run_id, str) or not SAFE_ID.fullmatch(run_id):
        raise ExportFormatError(
            f"This run export's run id {_shown(run_id)} is not a plain id (letters, digits, '-' "
            "and '_', at most 64): refused."
        )
    for column in Run.__table__.c:
        if column.name in run and run[column.name] is not None:
            _check_value(f"run.{column.name}", run[column.name], column.type)
    if not isinstance(run.get("question"), str):
        raise ExportFormatError("This run export's question is not text.")
    events = data.get("events")
    if events is None:
        return
    if not isinstance(events, list) or len(events) > MAX_EVENTS:
        raise ExportFormatError(f"The export's events are not a list of {MAX_EVENTS:,} at most.")
    for position, event in enumerate(events):
        _check_event(f"This run export's event {position}", event)


def _check_event(where: str, event: Any) -> None:
    if not isinstance(event, dict):
        raise ExportFormatError(f"{where} is not an object.")
    kind = event.get("type")
    if kind not in KNOWN_EVENT_TYPES:
        raise ExportFormatError(
            f"{where} has an unknown type {_shown(kind)}: the file is damaged, "
            "hand-made, or from a newer RLM Workbench."
        )
    depth = event.get("depth", 0)
    if depth is not None and not (_is_int(depth) and 0 <= depth <= MAX_DEPTH):
        raise ExportFormatError(f"{where} ({kind}) has depth {_shown(depth)}: 0 to {MAX_DEPTH}.")
    usage = event.get("usage")
    if usage is not None and not isinstance(usage, dict):
        raise ExportFormatError(f"{where} ({kind}) has a usage that is not an object.")
    values = {**(usage or {}), **event}
    for name in _INT_FIELDS:
        if values.get(name) is not None and not _is_count(values[name]):
            shown = _shown(values[name])
            raise ExportFormatError(f"{where} ({kind}): {name} {shown} is not a count.")
    for name in _FLOAT_FIELDS:
        if event.get(name) is not None and not _is_number(event[name]):
            shown = _shown(event[name])
            raise ExportFormatError(f"{where} ({kind}): {name} {shown} is not a number.")
    for name in _TEXT_FIELDS:
        if event.get(name) is not None and not isinstance(event[name], str):
            raise ExportFormatError(f"{where} ({kind}): {name} is not text.")
    for name in ("config", "context_meta"):
        if event.get(name) is not None and not isinstance(event[name], dict):
            raise ExportFormatError(f"{where} ({kind}): {name} is not an object.")


def _check_value(where: str, value: Any, column_type: Any) -> None:
    if isinstance(column_type, sa.Integer):
        ok = _is_count(value)
    elif isinstance(column_type, sa.Float):
        ok = _is_number(value)
    elif isinstance(column_type, sa.String):  # Text too
        length = column_type.length
        ok = isinstance(value, str) and (length is None or len(value) <= length)
    elif isinstance(column_type, sa.JSON):
        ok = isinstance(value, dict)
    else:
        ok = True
    if not ok:
        raise ExportFormatError(f"This run export's {where} {_shown(value)} is not valid there.")


def _check_nesting(data: Any) -> None:
    """No deeper than MAX_NESTING levels, walked without recursion (a deep file cannot exhaust
    the stack here, nor later in the code that stores it)."""
    stack = [(data, 0)]
    while stack:
        value, level = stack.pop()
        if level > MAX_NESTING:
            raise ExportFormatError(f"This run export nests deeper than {MAX_NESTING} levels.")
        if isinstance(value, dict):
            stack.extend((v, level + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, level + 1) for v in value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_count(value: Any) -> bool:
    return _is_int(value) and 0 <= value <= MAX_INT


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) <= MAX_FLOAT
    )


def _shown(value: Any) -> str:
    try:
        text = repr(value)
    except ValueError:  # an int too long to print
        return "(a number too long to show)"
    return text if len(text) <= 60 else text[:57] + "..."
