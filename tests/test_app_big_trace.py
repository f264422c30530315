"""A stored run of hundreds of sub-calls in History (AppTest, real SQLite): its panel lists them
a page at a time and its timeline sums up those after the first MAX_CALL_BARS."""

from __future__ import annotations

from typing import Any

from rlm_testkit.runs import batched_run, record
from tests.apptest import open_app
from tests.test_app_timeline import timelines
from webui.draw import SUB_CALL_PAGE
from webui.timeline import MAX_CALL_BARS, MORE_LANE

CALLS = 300


def record_big_run(db: Any, n: int) -> str:
    """One finished run whose only code block made n sub-calls, 16 at a time."""
    recorder = db.recorder()
    run_id = record(recorder, batched_run(n))
    recorder.close()
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
