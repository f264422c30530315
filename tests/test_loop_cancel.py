"""Stopping a run from outside while it waits: for the root model, a sub-model, a code block."""

from __future__ import annotations

import threading

from rlm_engine import run
from rlm_engine.events import CodeExecuted, RootResponse, RunFinished
from tests.standin import Reply, StandIn
from tests.test_loop import ROOT, SUB, Collector, make_config, repl


def stop_run(cancel: threading.Event):
    events = Collector()
    config = make_config(request_timeout_s=30, max_retries=0)
    result = run("Stop me", "ctx", config, on_event=events, cancel=cancel)
    return result, events


def test_cancel_during_a_root_call_stops_the_run(standin_env: StandIn) -> None:
    cancel = threading.Event()
    standin_env.on(lambda req: cancel.set() or Reply(hang=True), model=ROOT)
    result, events = stop_run(cancel)
    assert result.status == "cancelled"
    assert events.of(RootResponse) == []  # the abandoned call is never reported
    assert isinstance(events.events[-1], RunFinished)


def test_cancel_during_a_sub_call_abandons_it(standin_env: StandIn) -> None:
    cancel = threading.Event()
    standin_env.on(lambda req: cancel.set() or Reply(hang=True), model=SUB)
    standin_env.enqueue(
        repl("try:\n    llm_query('x')\nexcept Exception as exc:\n    print('caught', exc)"),
        "FINAL(never)",
        model=ROOT,
    )
    result, events = stop_run(cancel)
    assert result.status == "cancelled"
    assert "caught The run was stopped" in events.of(CodeExecuted)[0].output
    assert isinstance(events.events[-1], RunFinished)
