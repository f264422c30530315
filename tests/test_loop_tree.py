"""Child RLMs (`rlm_query` at --max-depth 2): their budgets, their usage, their prompt.

What a child counts is in tests/test_loop.py, test_depth_two_runs_a_child_rlm.
"""

from __future__ import annotations

import threading
import time

from rlm_engine import Budgets, Credentials, ModelSpec, opening, prompts
from rlm_engine.events import RootResponse, RunFinished, SubCallFinished, SubCallStarted
from rlm_engine.loop import RLMRun
from rlm_engine.providers.registry import sub_call_chars
from rlm_engine.sandbox import Sandbox
from rlm_engine.shared import RunShared
from rlm_testkit.standin import StandIn
from tests.test_loop import ROOT, SUB, ask, make_config, repl

DEEP = Budgets(max_depth=2)
ASK_CHILD = repl("r = rlm_query('Summarise', context='x' * 50)\nprint(r)")


def test_each_child_has_its_own_iteration_cap(standin_env: StandIn) -> None:
    standin_env.enqueue(repl("print(1)"), repl("print(2)"), "FINAL(child best)", model=SUB)
    standin_env.enqueue(ASK_CHILD, "FINAL_VAR(r)", model=ROOT)
    config = make_config(budgets=Budgets(max_depth=2, max_iterations=2))
    result, events = ask("Capped", "ctx", config)
    assert (result.status, result.answer, result.iterations) == ("completed", "child best", 2)
    child_turns = [e.forced for e in events.of(RootResponse) if e.depth == 1]
    assert child_turns == [False, False, True]  # N turns plus one forced-answer call
    assert result.sub_calls == 3


def test_sub_call_budget_bounds_the_child_root_calls(standin_env: StandIn) -> None:
    standin_env.enqueue(repl("print(1)"), repl("print(2)"), repl("print(3)"), model=SUB)
    standin_env.enqueue(
        repl(
            "try:\n    r = rlm_query('sub', context='abc')\n"
            "except Exception as exc:\n    r = str(exc)\nprint(r)"
        ),
        "FINAL_VAR(r)",
        model=ROOT,
    )
    config = make_config(budgets=Budgets(max_depth=2, max_sub_calls=2), max_retries=0)
    result, _ = ask("Bounded", "ctx", config)
    assert "max_sub_calls" in result.answer
    assert result.sub_calls == 2
    assert [r.model for r in standin_env.requests].count(SUB) == 2


def test_rlm_query_call_reports_its_childs_usage_and_cost(standin_env: StandIn) -> None:
    standin_env.enqueue(repl("h = llm_query('hint')"), "a hint", "FINAL(done)", model=SUB)
    standin_env.enqueue(ASK_CHILD, "FINAL_VAR(r)", model=ROOT)
    config = make_config(budgets=DEEP, price_overrides={SUB: (2.0, 10.0)})
    _, events = ask("Priced", "ctx", config)
    call = next(e for e in events.of(SubCallStarted) if e.kind == "rlm")
    wrapper = next(e for e in events.of(SubCallFinished) if e.call_id == call.call_id)
    inside = [e for e in events.of(RootResponse) + events.of(SubCallFinished) if e.depth == 1]
    assert len(inside) == 3  # two child root calls and one llm_query
    assert wrapper.usage.input_tokens == sum(e.usage.input_tokens for e in inside)
    assert wrapper.usage.output_tokens == sum(e.usage.output_tokens for e in inside)
    assert wrapper.cost_usd is not None and wrapper.cost_usd > 0
    assert abs(wrapper.cost_usd - sum(e.cost_usd for e in inside)) < 1e-12


def test_child_prompt_variant_follows_its_own_root_model() -> None:
    # a local sub model as a child's root gets the small prompt, although the top root is not local
    config = make_config(sub=ModelSpec("local", "tiny.gguf"))
    shared = RunShared("run", config, Credentials(), None, threading.Event())
    with Sandbox() as sandbox:  # never started: nothing here runs code
        top = RLMRun(shared, question="q", sandbox=sandbox, root_spec=config.root)
        child = RLMRun(shared, question="q", sandbox=sandbox, root_spec=config.sub_model, depth=1)
        system = opening.initial_messages(child, {"type": "str"})[0]["content"]
    assert (top.small, top.stop) == (False, None)
    assert (child.small, child.stop) == (True, prompts.SMALL_MODEL_STOP)
    assert system == prompts.system_prompt(small=True, sub_budget_chars=sub_call_chars("local"))


def test_a_child_stops_when_the_block_that_called_it_ends(standin_env: StandIn) -> None:
    nap = repl("import time\ntime.sleep(0.5)")
    standin_env.enqueue(*[nap] * 40, "FINAL(too late)", model=SUB)
    standin_env.enqueue(ASK_CHILD, "FINAL(gave up on the child)", model=ROOT)
    result, events = ask("Abandon", "ctx", make_config(budgets=DEEP, exec_timeout_s=2.0))
    assert result.answer == "gave up on the child"
    child_end = next(e for e in events.of(RunFinished) if e.depth == 1)
    assert child_end.status == "cancelled"
    asked = [r.model for r in standin_env.requests].count(SUB)
    time.sleep(2.0)  # a child still going would ask its model again meanwhile
    assert [r.model for r in standin_env.requests].count(SUB) == asked
    assert asked < 40
