"""rlm_engine.trace: a run's events folded into iterations, code blocks, sub-calls and totals
(and webui.trace: how the app words them)."""

from __future__ import annotations

import pytest

from rlm_engine.events import (
    Event,
    FinalAnswer,
    Notice,
    RootResponse,
    RunFinished,
    SubCallFinished,
    SubCallStarted,
    Usage,
)
from rlm_engine.trace import Trace
from rlm_engine.trace import fold as fold_events
from rlm_testkit.runs import RUN, call, code, root, started
from webui.trace import activity, format_cost, notice_line


def fold(*events: Event, now: float = 110.0) -> Trace:
    return fold_events(list(events), now=now)


def test_each_root_response_is_an_iteration() -> None:
    trace = fold(started(), root(1), code(1), root(2, "FINAL(x)"))
    assert [i.number for i in trace.iterations] == [1, 2]


def test_sub_calls_hang_under_the_block_that_made_them() -> None:
    trace = fold(started(), root(1), *call("a"), *call("b"), code(1))
    assert [c.call_id for c in trace.iterations[0].blocks[0].sub_calls] == ["a", "b"]


def test_sub_calls_of_a_block_still_running_are_shown_as_running() -> None:
    trace = fold(started(), root(1), *call("a"))
    assert [c.call_id for c in trace.iterations[0].running_sub_calls] == ["a"]


def test_reasoning_leaves_the_code_out() -> None:
    trace = fold(started(), root(1, "First I look.\n```repl\nprint(1)\n```\nThen I decide."))
    assert trace.iterations[0].reasoning == "First I look.\n\nThen I decide."


def test_running_totals_add_up_the_calls_so_far() -> None:
    trace = fold(started(), root(1), *call("a"), code(1), now=112.5)
    totals = trace.totals
    assert (totals.iterations, totals.sub_calls, totals.tokens) == (1, 1, 20)
    assert totals.cost_usd == pytest.approx(0.011)
    assert totals.elapsed_s == pytest.approx(12.5)


def test_running_totals_count_a_child_rlm_as_the_engine_does() -> None:
    child = {"depth": 1, "parent_call_id": "c"}
    trace = fold(
        started(),
        root(1),
        SubCallStarted(run_id=RUN, call_id="c", iteration=1, kind="rlm", model="s", prompt="p"),
        root(1, **child),
        *call("leaf", **child),
        root(2, "FINAL(y)", **child),
    )
    # two root calls of the child and its llm_query; the rlm_query call itself only holds them
    assert (trace.totals.iterations, trace.totals.sub_calls) == (1, 3)


def test_an_unknown_price_makes_the_cost_unknown() -> None:
    unpriced = RootResponse(
        run_id=RUN, iteration=1, text="", model="m", usage=Usage(1, 1), cost_usd=None, elapsed_s=1
    )
    assert fold(started(), unpriced).totals.cost_usd is None


def test_the_finished_run_totals_win() -> None:
    finished = RunFinished(
        run_id=RUN, status="completed", answer="x", error=None, iterations=7, sub_calls=3,
        input_tokens=1, output_tokens=2, cost_usd=None, elapsed_s=9.0,
    )  # fmt: skip
    trace = fold(started(), root(1), finished)
    assert (trace.status, trace.answer, trace.totals.iterations) == ("completed", "x", 7)


def test_a_child_rlm_hangs_under_its_rlm_query_call() -> None:
    child = {"depth": 1, "parent_call_id": "c1"}
    events = [
        started(),
        root(1),
        SubCallStarted(run_id=RUN, call_id="c1", iteration=1, kind="rlm", model="s", prompt="p"),
        started(**child),
        root(1, "child thinking", **child),
        FinalAnswer(run_id=RUN, answer="child says", source="text", **child),
    ]
    trace = fold(*events)
    (running,) = trace.iterations[0].running_sub_calls
    assert running.child.answer == "child says"
    assert len(trace.iterations) == 1


def test_notices_go_to_their_iteration() -> None:
    trace = fold(started(), root(1), Notice(run_id=RUN, iteration=1, message="FINAL discarded"))
    assert [notice_line(n) for n in trace.iterations[0].notices] == ["FINAL discarded"]


@pytest.mark.parametrize(
    ("events", "says"),
    [
        ([], "Starting"),
        ([started()], "Waiting for the root model"),
        ([started(), root(1)], "Running the code"),
        ([started(), root(1), *call("a")[:1]], "sub-calls in flight"),
        ([started(), root(1), code(1)], "Waiting for the root model"),
    ],
)
def test_activity_says_what_the_run_is_doing(events: list[Event], says: str) -> None:
    assert says in activity(events)


@pytest.mark.parametrize(
    ("cost", "shown"), [(None, "unknown"), (0.0, "$0"), (0.00001, "<$0.0001"), (0.5, "$0.5000")]
)
def test_cost_is_never_a_false_zero(cost: float | None, shown: str) -> None:
    assert format_cost(cost) == shown


def test_a_streaming_reply_is_shown_until_its_root_response_comes() -> None:
    from rlm_engine.events import RootDelta

    pieces = [
        RootDelta(run_id=RUN, iteration=1, offset=0, text="Let me "),
        RootDelta(run_id=RUN, iteration=1, offset=7, text="look at"),
        RootDelta(run_id=RUN, iteration=1, offset=14, text=" context."),
    ]
    assert fold(started(), *pieces).streaming == "Let me look at context."
    assert fold(started(), pieces[0], pieces[2]).streaming == "Let me  context."  # a gap
    restarted = RootDelta(run_id=RUN, iteration=1, offset=0, text="Again")  # a retried call
    assert fold(started(), *pieces, restarted).streaming == "Again"
    done = fold(started(), *pieces, root(1))
    assert done.streaming is None and len(done.iterations) == 1
    assert activity([started(), pieces[0]]) == ("The root model is answering…")


def test_cache_tokens_and_speed_reach_iterations_calls_and_totals() -> None:
    usage = Usage(1000, 50, cached_tokens=800, cache_write_tokens=150)
    reply = RootResponse(
        run_id=RUN, iteration=1, text="Looking.", model="m", usage=usage, cost_usd=0.01,
        elapsed_s=1.0, tokens_per_s=42.5, first_token_s=0.3,
    )  # fmt: skip
    cached = SubCallFinished(
        run_id=RUN, call_id="c2", response="r", usage=Usage(), cost_usd=0.0, elapsed_s=0.0,
        cached=True,
    )  # fmt: skip
    started_call = SubCallStarted(run_id=RUN, call_id="c2", iteration=1, kind="llm", model="s",
                                  prompt="p")  # fmt: skip
    trace = fold(started(), reply, started_call, cached)
    iteration = trace.iterations[0]
    assert (iteration.cached_tokens, iteration.cache_write_tokens) == (800, 150)
    assert (iteration.tokens_per_s, iteration.first_token_s) == (42.5, 0.3)
    assert trace.iterations[0].running_sub_calls[0].cached
    assert (trace.totals.cached_tokens, trace.totals.cache_write_tokens) == (800, 150)
    finished = RunFinished(
        run_id=RUN, status="completed", answer="a", error=None, iterations=1, sub_calls=1,
        input_tokens=1000, output_tokens=50, cost_usd=0.01, elapsed_s=2.0, cached_tokens=800,
        cache_write_tokens=150,
    )  # fmt: skip
    assert fold(started(), reply, finished).totals.cached_tokens == 800


def test_the_code_of_a_reply_shows_before_and_while_it_runs() -> None:
    reply = "Two steps.\n```repl\nprint(1)\n```\n```repl\nprint(2)\n```"
    assert fold(started(), root(1, reply)).iterations[0].pending_code == ["print(1)", "print(2)"]
    assert fold(started(), root(1, reply), code(1)).iterations[0].pending_code == ["print(2)"]
