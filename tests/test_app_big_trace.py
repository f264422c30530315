"""A stored run of hundreds of sub-calls in History (AppTest, real SQLite): its panel lists them
a page at a time and its timeline sums up those after the first MAX_CALL_BARS."""

from __future__ import annotations

import time
import uuid
from typing import Any

from rlm_engine.events import (
    CodeExecuted,
    Event,
    FinalAnswer,
    RootResponse,
    RunFinished,
    RunStarted,
    SubCallFinished,
    SubCallStarted,
    Usage,
)
from tests.apptest import open_app
from tests.test_app_timeline import timelines
from webui.draw import SUB_CALL_PAGE
from webui.timeline import MAX_CALL_BARS, MORE_LANE

CALLS = 300


def record_big_run(db: Any, n: int) -> str:
    """One finished run whose only code block made n sub-calls, 16 at a time."""
    run_id, start = uuid.uuid4().hex, time.time() - 600
    usage = Usage(input_tokens=400, output_tokens=30)
    events: list[Event] = [
        RunStarted(run_id=run_id, time=start, question="Which invoices are overdue?",
                   config={"root": {"provider": "openai", "model": "root-model"}},
                   context_meta={}),
        RootResponse(run_id=run_id, time=start + 2, iteration=1, text="```repl\nx = 1\n```",
                     model="root-model", usage=usage, cost_usd=0.002, elapsed_s=2.0),
    ]  # fmt: skip
    for i in range(n):
        begin = start + 2.1 + i // 16 * 0.5
        events += [
            SubCallStarted(run_id=run_id, time=begin, call_id=f"c{i}", iteration=1,
                           kind="llm", model="sub-model", prompt=f"Is invoice {i} overdue?",
                           batch_id="b1", batch_index=i),
            SubCallFinished(run_id=run_id, time=begin + 0.45, call_id=f"c{i}",
                            response=f"Invoice {i}: no.", usage=Usage(120, 8),
                            cost_usd=0.0001, elapsed_s=0.45),
        ]  # fmt: skip
    end = start + 3 + n // 16 * 0.5
    events += [
        CodeExecuted(run_id=run_id, time=end, iteration=1, block_index=0, code="x = 1",
                     output="done", output_chars=4, elapsed_s=end - start - 2),
        RootResponse(run_id=run_id, time=end + 1, iteration=2, text="FINAL(none)",
                     model="root-model", usage=usage, cost_usd=0.002, elapsed_s=1.0),
        FinalAnswer(run_id=run_id, time=end + 1, answer="none", source="text"),
        RunFinished(run_id=run_id, time=end + 1, status="completed", answer="none", error=None,
                    iterations=2, sub_calls=n, input_tokens=0, output_tokens=0,
                    cost_usd=0.1, elapsed_s=end + 1 - start),
    ]  # fmt: skip
    record = db.recorder()
    for event in events:
        record(event)
    record.close()
    return run_id


def test_a_panel_lists_sub_calls_a_page_at_a_time(app_db: Any) -> None:
    run_id = record_big_run(app_db, CALLS)
    at = open_app("pages/history.py").selectbox(key="history-open").set_value(run_id).run()
    assert [len(d.value) for d in at.dataframe] == [SUB_CALL_PAGE]
    assert len(at.selectbox(key=f"history-{run_id}-it0-b0-pick").options) == SUB_CALL_PAGE
    key = f"history-{run_id}-it0-b0-more"
    assert at.button(key=key).label == f"Show {SUB_CALL_PAGE} more (50 of {CALLS} shown)"
    at = at.button(key=key).click().run()
    assert [len(d.value) for d in at.dataframe] == [2 * SUB_CALL_PAGE]
    for _ in range(CALLS // SUB_CALL_PAGE):
        more = [b for b in at.button if b.key == key]
        if not more:
            break
        at = more[0].click().run()
    assert [len(d.value) for d in at.dataframe] == [CALLS]  # all, and no button left
    assert not [b for b in at.button if b.key == key]


def test_the_timeline_draws_the_first_sub_calls_and_sums_up_the_rest(app_db: Any) -> None:
    run_id = record_big_run(app_db, CALLS)
    at = open_app("pages/history.py").selectbox(key="history-open").set_value(run_id).run()
    (rows,) = timelines(at)
    assert len([r for r in rows if r["lane"].startswith("Sub-calls")]) == MAX_CALL_BARS
    summed = [r for r in rows if r["lane"] == MORE_LANE]
    assert 0 < len(summed) < CALLS - MAX_CALL_BARS
    assert any("summed up in the last lane" in c.value for c in at.caption)
