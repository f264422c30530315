"""rlm_engine.trace, the one fold of the event stream: its totals are the budgets' own counts,
a child RLM's calls hang under it, and an event that lost a field fails loudly."""

from __future__ import annotations

import pytest

from rlm_engine import Budgets
from rlm_engine.events import RunFinished, event_from_dict
from rlm_engine.trace import Totals, fold, tally, totals
from rlm_testkit.runs import call, call_started, code, root, started
from rlm_testkit.standin import StandIn
from tests.test_loop import ROOT, SUB, ask, make_config, repl

ASK_CHILD = repl("r = rlm_query('Summarise', context='x' * 50)\nprint(r)")


def _child_run(standin: StandIn) -> list:
    """A real run: the root asks a child RLM, which makes one llm_query; all calls priced."""
    standin.enqueue(
        repl("h = llm_query('hint')\nprint(h)"), "a hint", "FINAL(done)", "ok", model=SUB
    )
    standin.enqueue(ASK_CHILD, repl("print(llm_query('check'))"), "FINAL_VAR(r)", model=ROOT)
    config = make_config(
        budgets=Budgets(max_depth=2), price_overrides={ROOT: (1.0, 4.0), SUB: (2.0, 10.0)}
    )
    result, events = ask("Priced", "ctx", config)
    assert result.status == "completed"
    return events.events


def test_the_running_totals_are_what_the_budgets_counted(standin_env: StandIn) -> None:
    events = _child_run(standin_env)
    engine = Totals.of(next(e for e in events if isinstance(e, RunFinished) and not e.depth))
    live = totals(e for e in events if not (isinstance(e, RunFinished) and not e.depth))
    assert (live.iterations, live.sub_calls) == (engine.iterations, engine.sub_calls) == (3, 4)
    assert (live.input_tokens, live.output_tokens) == (engine.input_tokens, engine.output_tokens)
    assert live.cost_usd == pytest.approx(engine.cost_usd)


def test_a_child_rlm_keeps_its_own_sub_calls(standin_env: StandIn) -> None:
    trace = fold(_child_run(standin_env))
    (child_call,) = trace.iterations[0].blocks[0].sub_calls
    assert (child_call.kind, child_call.response) == ("rlm", "done")
    child = child_call.child
    assert child is not None and child.answer == "done"
    (hint,) = child.iterations[0].blocks[0].sub_calls
    assert (hint.kind, hint.response, hint.child) == ("llm", "a hint", None)
    assert [i.number for i in child.iterations] == [1, 2]
    # the child's calls are in the run's totals once, not again through its rlm_query call
    assert trace.totals.sub_calls == 4


def test_tally_counts_as_the_budgets_do() -> None:
    assert tally(root(1)).iterations == 1
    assert (tally(root(1, forced=True)).iterations, tally(root(1, depth=1)).sub_calls) == (0, 1)
    started_rlm = call_started("c", kind="rlm")
    assert tally(started_rlm).sub_calls == 0  # a container: its child's calls count
    finished = call("c")[1]
    assert tally(finished, "rlm").usage.input_tokens == 0
    assert tally(finished, "llm").usage.input_tokens == 3
    assert tally(finished, None).usage.input_tokens == 0  # its start was never seen


def test_an_unknown_price_stays_unknown_in_the_totals() -> None:
    counted = totals([started(), root(1, cost_usd=None), root(2)])
    assert counted.cost_usd is None and counted.tokens == 30


def test_a_stored_event_that_lost_a_field_fails_loudly() -> None:
    data = root(1).to_dict()
    data["tokens"] = data.pop("usage")  # a renamed field
    with pytest.raises(TypeError, match="usage"):
        event_from_dict(data)


def test_a_block_whose_reply_never_came_gets_a_placeholder_iteration() -> None:
    trace = fold([started(), *call("a", iteration=2), code(2)])
    (iteration,) = trace.iterations
    assert (iteration.number, iteration.text) == (2, "")
    assert [c.call_id for c in iteration.blocks[0].sub_calls] == ["a"]
