"""Budgets that end a run: the forced answer, an unenforceable cost budget, the time budget."""

from __future__ import annotations

import pytest

from rlm_engine import Budgets
from rlm_engine.events import CodeExecuted, Notice, RootResponse
from rlm_testkit.standin import Reply, StandIn
from tests.test_loop import ROOT, SUB, ask, make_config, repl


def test_forced_final_var_of_a_missing_variable_answers_with_the_text(
    standin_env: StandIn,
) -> None:
    standin_env.enqueue(
        repl("print(1)"), "I ran out of turns; it is probably 42.\nFINAL_VAR(answer)", model=ROOT
    )
    result, _ = ask("Forced", "ctx", make_config(budgets=Budgets(max_iterations=1)))
    assert (result.status, result.answer) == ("limit", "I ran out of turns; it is probably 42.")


def test_forced_final_var_of_a_variable_answers_with_its_value(standin_env: StandIn) -> None:
    standin_env.enqueue(repl("answer = 6 * 7"), "FINAL_VAR(answer)", model=ROOT)
    result, _ = ask("Forced", "ctx", make_config(budgets=Budgets(max_iterations=1)))
    assert (result.status, result.answer) == ("limit", "42")


def cost_notices(events) -> list[str]:
    return [n.message for n in events.of(Notice) if "cannot be enforced" in n.message]


def test_cost_budget_over_unknown_prices_is_announced_once(standin_env: StandIn) -> None:
    standin_env.on(lambda req: "s", model=SUB)
    standin_env.enqueue(
        repl("print(llm_query('a'), llm_query('b'))"), repl("print(2)"), "FINAL(x)", model=ROOT
    )
    result, events = ask("Cost", "ctx", make_config(budgets=Budgets(max_cost_usd=0.5)))
    assert result.status == "completed"  # announced, not refused
    [notice] = cost_notices(events)
    assert ROOT in notice and SUB in notice and "price override" in notice
    assert f"the prices of {ROOT} and {SUB} are unknown" in notice  # plural, in good English


@pytest.mark.parametrize(
    "config",
    [
        make_config(budgets=Budgets(max_cost_usd=0.5), price_overrides={ROOT: (1, 1), SUB: (1, 1)}),
        make_config(),  # no cost budget: nothing to enforce
    ],
)
def test_no_cost_notice_when_prices_are_known_or_no_budget(standin_env: StandIn, config) -> None:
    standin_env.enqueue("FINAL(x)", model=ROOT)
    _, events = ask("Cost", "ctx", config)
    assert cost_notices(events) == []


def test_time_budget_abandons_a_hanging_root_call(standin_env: StandIn) -> None:
    standin_env.enqueue(Reply(hang=True), "FINAL(in the end)", model=ROOT)
    config = make_config(budgets=Budgets(max_time_s=2), request_timeout_s=30, max_retries=0)
    result, events = ask("Hang", "ctx", config)
    assert (result.status, result.answer, result.iterations) == ("limit", "in the end", 0)
    assert [e.forced for e in events.of(RootResponse)] == [True]


def test_time_budget_stops_a_code_block(standin_env: StandIn) -> None:
    standin_env.enqueue(
        repl("import time\ntime.sleep(30)\nslept = True"), "FINAL_VAR(slept)", model=ROOT
    )
    config = make_config(exec_timeout_s=60.0, budgets=Budgets(max_time_s=3))
    result, events = ask("Slow", "ctx", config)
    assert "TimeoutError" in (events.of(CodeExecuted)[0].error or "")
    assert result.status == "limit" and result.answer == ""  # `slept` was never set


def test_a_forced_answer_that_echoes_the_note_is_no_answer(standin_env: StandIn) -> None:
    # A small model answered "The budget for this run is used up": the note's own words.
    standin_env.enqueue(repl("print(1)"), "FINAL(Stop: no more code will run)", model=ROOT)
    result, _ = ask("Never done", "ctx", make_config(budgets=Budgets(max_iterations=1)))
    assert (result.status, result.answer) == ("limit", "")
    forced_note = standin_env.requests[-1].messages[-1]["content"]
    assert forced_note.endswith("The question was: Never done")
