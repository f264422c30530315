"""webui.timeline: a run's events as bars on one time axis, sub-calls packed by concurrency."""

from __future__ import annotations

from rlm_engine.events import (
    CodeExecuted,
    Event,
    RootResponse,
    RunFinished,
    RunStarted,
    SubCallFinished,
    SubCallStarted,
    Usage,
)
from webui.safe_text import ZWSP
from webui.timeline import (
    CODE_LANE,
    MAX_CALL_BARS,
    MORE_LANE,
    ROOT_LANE,
    chart_spec,
    lanes,
    timeline_bars,
)

RUN = "run-1"


def root(iteration: int, at: float, text: str = "```repl\nx = 1\n```", **kw: object) -> Event:
    return RootResponse(
        run_id=RUN, time=at, iteration=iteration, text=text, model="m", usage=Usage(10, 5),
        cost_usd=0.01, elapsed_s=1.0, **kw,
    )  # fmt: skip


def code(iteration: int, at: float, elapsed: float = 2.0, **kw: object) -> Event:
    return CodeExecuted(
        run_id=RUN, time=at, iteration=iteration, block_index=0, code="x = 1", output="",
        output_chars=0, elapsed_s=elapsed, **kw,
    )  # fmt: skip


def call(
    call_id: str, start: float, end: float | None, kind: str = "llm", iteration: int = 1
) -> list[Event]:
    events: list[Event] = [
        SubCallStarted(run_id=RUN, time=start, call_id=call_id, iteration=iteration, kind=kind,
                       model="s", prompt=f"prompt {call_id}")
    ]  # fmt: skip
    if end is not None:
        events.append(
            SubCallFinished(run_id=RUN, time=end, call_id=call_id, response="r",
                            usage=Usage(3, 2), cost_usd=0.001, elapsed_s=end - start)
        )  # fmt: skip
    return events


def started() -> Event:
    return RunStarted(run_id=RUN, time=100.0, question="Q?", config={}, context_meta={})


def finished(at: float) -> Event:
    return RunFinished(
        run_id=RUN, time=at, status="completed", answer="x", error=None, iterations=2,
        sub_calls=3, input_tokens=0, output_tokens=0, cost_usd=0.0, elapsed_s=at - 100,
    )  # fmt: skip


def bars_of(*events: Event, now: float | None = None):
    return timeline_bars(list(events), now=now)


def test_root_calls_and_code_blocks_sit_on_the_run_s_clock() -> None:
    bars = bars_of(started(), root(1, 102.0), code(1, 105.0), root(2, 106.0, "FINAL(x)"),
                   finished(106.0))  # fmt: skip
    assert [(b.lane, b.start_s, b.end_s, b.panel) for b in bars] == [
        (ROOT_LANE, 1.0, 2.0, 0),
        (CODE_LANE, 3.0, 5.0, 0),
        (ROOT_LANE, 5.0, 6.0, 1),
    ]
    assert "10 in / 5 out" in bars[0].tokens and bars[0].cost == "$0.0100"


def test_sub_calls_take_as_many_lanes_as_ran_at_once() -> None:
    # a and b overlap, c starts after a ended: two lanes, c in the first
    events = [started(), root(1, 101.0), *call("a", 102, 104), *call("b", 103, 106)]
    bars = bars_of(*events, *call("c", 104.5, 105), code(1, 107.0), finished(108.0))
    lane_of = {b.prompt: b.lane for b in bars if b.kind == "sub-call"}
    assert lane_of == {"prompt a": "Sub-calls 1", "prompt b": "Sub-calls 2",
                       "prompt c": "Sub-calls 1"}  # fmt: skip
    assert lanes(bars) == [ROOT_LANE, CODE_LANE, "Sub-calls 1", "Sub-calls 2"]


def test_what_still_runs_ends_now() -> None:
    bars = bars_of(started(), root(1, 101.0), *call("a", 102, None), now=110.0)
    running = [b for b in bars if b.running]
    assert {(b.kind, b.end_s) for b in running} == {("sub-call", 10.0), ("code block", 10.0)}
    code_bar = next(b for b in running if b.kind == "code block")
    assert code_bar.start_s == 1.0 and code_bar.label == "Iteration 1 · block 1 · running"


def test_a_root_call_awaited_shows_as_running() -> None:
    bars = bars_of(started(), root(1, 101.0), code(1, 103.0), now=104.0)
    assert bars[-1].running and bars[-1].lane == ROOT_LANE and bars[-1].start_s == 3.0
    assert bars[-1].panel == 1  # the next panel


def test_the_forced_answer_has_its_own_panel() -> None:
    bars = bars_of(started(), root(1, 101.0), code(1, 102.0), root(1, 103.0, "x", forced=True),
                   finished(103.0))  # fmt: skip
    assert [b.panel for b in bars] == [0, 0, 1]


def test_a_child_rlm_s_calls_link_to_the_iteration_that_started_it() -> None:
    child = {"depth": 1, "parent_call_id": "c1"}
    events = [started(), root(1, 101.0), root(2, 102.0), *call("c1", 103, 109, "rlm", 2)]
    events.insert(-1, root(1, 105.0, **child))
    bars = bars_of(*events, code(2, 110.0), finished(111.0))
    child_root = next(b for b in bars if b.kind == "child root call")
    assert child_root.panel == 1 and child_root.lane.startswith("Sub-calls")
    assert next(b for b in bars if b.kind == "child RLM").panel == 1


def test_a_prompt_in_a_tooltip_follows_the_safe_text_rule() -> None:
    events = [started(), root(1, 101.0)]
    events += call("x", 102, 103)
    prompt = "see ![x](https://evil/?q=1) <img src=x>"
    events[2] = SubCallStarted(
        run_id=RUN, time=102, call_id="x", iteration=1, kind="llm", model="s", prompt=prompt
    )
    spec = chart_spec(bars_of(*events, code(1, 104.0), finished(104.0)), key="k")
    prompt = next(row["tip"]["Prompt"] for row in spec["data"]["values"] if "Prompt" in row["tip"])
    assert f"!{ZWSP}[" in prompt and f"<{ZWSP}img" in prompt
    assert {row["href"] for row in spec["data"]["values"]} == {"#k-panel-0"}


def test_a_thousand_sub_calls_draw_the_first_ones_and_sum_up_the_rest() -> None:
    """16 at a time every 0.5 s: the first MAX_CALL_BARS as bars, the rest as one span a batch
    (Vega draws a thousand bars with their tooltips in seconds)."""
    calls = [
        e for i in range(1000) for e in call(f"c{i}", 102 + i // 16 * 0.5, 102.45 + i // 16 * 0.5)
    ]
    bars = bars_of(started(), root(1, 102.0), *calls, code(1, 140.0, elapsed=38.0), finished(141.0))
    one_by_one = [b for b in bars if b.lane.startswith("Sub-calls")]
    summed = [b for b in bars if b.lane == MORE_LANE]
    assert len(one_by_one) == MAX_CALL_BARS
    assert len(summed) == len({(i // 16) for i in range(MAX_CALL_BARS, 1000)})  # one a batch
    assert sum(int(b.label.split()[0]) for b in summed) == 1000 - MAX_CALL_BARS
    assert lanes(bars)[-1] == MORE_LANE and len(lanes(bars)) == 2 + 16 + 1
    assert len(chart_spec(bars, key="k")["data"]["values"]) < 300


def test_a_short_call_in_a_long_run_is_wide_enough_to_point_at() -> None:
    """A 20 ms root call beside a 60 s code block: at least 1/120 of the span, so the pointer
    finds it (the tooltip sweep of the browser test missed a sub-pixel bar)."""
    bars = bars_of(started(), root(1, 100.02), code(1, 160.0, elapsed=59.9), finished(160.0))
    rows = chart_spec(bars, key="k")["data"]["values"]
    first = next(r for r in rows if r["kind"] == "root call")
    assert first["end"] - first["start"] >= 60.0 / 120 - 0.001
