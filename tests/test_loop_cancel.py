"""Stopping a run from outside while it waits: for the root model, a sub-model, a code block."""

from __future__ import annotations

import threading

from rlm_engine import Credentials, Session, run
from rlm_engine.events import CodeExecuted, Event, RootResponse, RunFinished, SubCallFinished
from rlm_testkit.runs import Collector
from rlm_testkit.standin import Reply, StandIn
from tests.test_loop import ROOT, SUB, make_config, repl


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


def test_a_reply_that_arrives_with_the_stop_runs_no_block(standin_env: StandIn) -> None:
    """The stop and the reply come together (the run saw the reply first): the reply is
    reported, with its tokens, and none of its code runs."""
    cancel = threading.Event()
    standin_env.on(lambda req: cancel.set() or repl("print('ran')"), model=ROOT)
    result, events = stop_run(cancel)
    assert result.status == "cancelled"
    assert events.of(CodeExecuted) == []
    assert isinstance(events.events[-1], RunFinished)


def test_cancel_during_a_sub_call_abandons_it(standin_env: StandIn) -> None:
    cancel = threading.Event()
    standin_env.on(lambda req: cancel.set() or Reply(hang=True), model=SUB)
    standin_env.enqueue(repl("llm_query('x')"), "FINAL(never)", model=ROOT)
    result, events = stop_run(cancel)
    assert result.status == "cancelled"
    [finished] = events.of(SubCallFinished)
    assert finished.error == "The run was stopped."
    types = [e.type for e in events.events]
    assert types.index("sub_call_finished") < types.index("code_executed")
    assert isinstance(events.events[-1], RunFinished)


def test_cancel_interrupts_a_running_code_block(standin_env: StandIn) -> None:
    cancel = threading.Event()
    standin_env.enqueue(repl("import time\ntime.sleep(30)\nslept = True"), model=ROOT)
    standin_env.enqueue(
        repl("try:\n    r = str(slept)\nexcept NameError:\n    r = 'interrupted'\nFINAL(r)"),
        model=ROOT,
    )

    def cancel_soon(event: Event) -> None:  # 1 s into the block (or before it: still stopped)
        if isinstance(event, RootResponse):
            threading.Timer(1.0, cancel.set).start()

    with Session("ctx", Credentials.from_env()) as session:
        config = make_config(exec_timeout_s=60.0)
        stopped = session.run("Sleep", config, on_event=cancel_soon, cancel=cancel)
        after = session.run("Did it sleep?", make_config())
    assert stopped.status == "cancelled"
    assert after.answer == "interrupted"  # the statement after the sleep never ran
