"""The RLM loop end to end: real sandbox subprocess, real SDKs, real HTTP to the stand-in."""

from __future__ import annotations

import json
import threading

import pytest

from rlm_engine import (
    Budgets,
    Credentials,
    ModelSpec,
    RunConfig,
    Session,
    event_from_dict,
    prompts,
    run,
)
from rlm_engine.events import (
    CodeExecuted,
    FinalAnswer,
    Notice,
    RootResponse,
    RunFinished,
    RunStarted,
    SubCallFinished,
    SubCallStarted,
)
from rlm_testkit.runs import Collector
from rlm_testkit.standin import Reply, Request, StandIn

ROOT = "root-model"
SUB = "sub-model"


def make_config(**overrides: object) -> RunConfig:
    values: dict[str, object] = {
        "root": ModelSpec("openai", ROOT),
        "sub": ModelSpec("openai", SUB),
        "exec_timeout_s": 20.0,
    }
    values.update(overrides)
    return RunConfig(**values)  # type: ignore[arg-type]


def repl(code: str) -> str:
    return f"Let me look.\n```repl\n{code}\n```"


def ask(question: str, context: str | list[str], config: RunConfig | None = None):
    events = Collector()
    result = run(
        question,
        context,
        config or make_config(),
        credentials=Credentials.from_env(),
        on_event=events,
    )
    return result, events


def test_needle_found_in_hundreds_of_documents(standin_env: StandIn) -> None:
    docs = [f"Document {i}: nothing to see here. " * 20 for i in range(500)]
    docs[337] += "The secret code is 7431."
    standin_env.enqueue(
        repl(
            "import re\n"
            "hits = [(i, m.group(1)) for i, d in enumerate(context)"
            " for m in re.finditer(r'secret code is (\\d+)', d)]\n"
            "print(hits)"
        ),
        "The search found it.\nFINAL(7431)",
        model=ROOT,
    )
    result, events = ask("What is the secret code?", docs)
    assert result.status == "completed"
    assert result.answer == "7431"
    assert "(337, '7431')" in events.of(CodeExecuted)[0].output
    # the corpus never entered the root prompt: only its metadata did
    first = standin_env.requests[0]
    assert "secret code is 7431" not in json.dumps(first.body)
    assert '"n_documents": 500' in first.messages[0]["content"]


def test_final_var_in_code_reply_is_resolved_after_the_code(standin_env: StandIn) -> None:
    standin_env.enqueue(
        repl("answer = str(len(context))") + "\nFINAL_VAR(answer)",
        model=ROOT,
    )
    result, events = ask("How long is it?", "x" * 1234)
    assert result.answer == "1234"
    assert events.of(FinalAnswer)[0].source == "text"


def test_final_called_in_code_ends_the_run(standin_env: StandIn) -> None:
    standin_env.enqueue(repl("FINAL(context.upper())"), model=ROOT)
    result, _ = ask("Shout it", "hello")
    assert (result.status, result.answer, result.iterations) == ("completed", "HELLO", 1)


def test_final_line_next_to_code_is_discarded_and_model_told(standin_env: StandIn) -> None:
    standin_env.enqueue(
        repl("print(context[:5])") + "\nFINAL(imagined answer)",
        "FINAL(real answer)",
        model=ROOT,
    )
    result, events = ask("What is it?", "abcdefgh")
    assert result.answer == "real answer"
    assert any("ignored" in n.message for n in events.of(Notice))
    assert "ignored" in standin_env.requests[1].messages[-1]["content"]


def test_sub_calls_aggregated(standin_env: StandIn) -> None:
    standin_env.on(lambda req: str(req.prompt.count("apple")), model=SUB)
    standin_env.enqueue(
        repl(
            "counts = [int(llm_query('Count them: ' + d)) for d in context]\n"
            "total = sum(counts)\nprint(total)"
        ),
        "FINAL_VAR(total)",
        model=ROOT,
    )
    docs = ["apple " * n for n in (1, 2, 3, 4)]
    result, events = ask("How many apples?", docs)
    assert result.answer == "10"
    assert result.sub_calls == 4
    finished = events.of(SubCallFinished)
    assert len(finished) == 4 and all(e.usage.output_tokens > 0 for e in finished)


def test_batched_sub_calls_run_concurrently(standin_env: StandIn) -> None:
    standin_env.hold_until_in_flight(8, model=SUB)
    standin_env.on(lambda req: req.prompt.upper(), model=SUB)
    standin_env.enqueue(
        repl("out = llm_query_batched([f'p{i}' for i in range(16)])\nprint(out)"),
        "FINAL_VAR(out)",
        model=ROOT,
    )
    result, events = ask("Batch", "ctx", make_config(max_concurrency=8))
    assert result.answer == str([f"P{i}" for i in range(16)])
    assert standin_env.peak_in_flight >= 8
    started = events.of(SubCallStarted)  # each knows its place in the batch (the UI's order)
    assert sorted((s.batch_index, s.prompt) for s in started) == [(i, f"p{i}") for i in range(16)]
    assert len({s.batch_id for s in started}) == 1


def test_one_failed_prompt_does_not_fail_the_batch(standin_env: StandIn) -> None:
    def rule(req: Request) -> Reply:
        if "bad" in req.prompt:
            return Reply("invalid prompt", status=400)
        return Reply("ok:" + req.prompt)

    standin_env.on(rule, model=SUB)
    standin_env.enqueue(
        repl("out = llm_query_batched(['a', 'bad', 'c'])\nprint(out)"),
        "FINAL_VAR(out)",
        model=ROOT,
    )
    result, _ = ask("Batch", "ctx")
    answers = eval(result.answer)  # the repr of a list of str
    assert answers[0] == "ok:a" and answers[2] == "ok:c"
    assert answers[1].startswith("Error:")


def test_depth_two_runs_a_child_rlm(standin_env: StandIn) -> None:
    # the child's root model is the sub model: it gets a scripted RLM conversation of its own
    standin_env.enqueue(
        repl("hint = llm_query('a hint, please')"),
        "a hint",  # the child's llm_query
        repl("print(hint)"),
        repl("FINAL('child saw ' + str(len(context)) + ' chars')"),
        model=SUB,
    )
    standin_env.enqueue(
        repl("r = rlm_query('Summarise', context='x' * 50)\nprint(r)"),
        "FINAL_VAR(r)",
        model=ROOT,
    )
    config = make_config(budgets=Budgets(max_depth=2))
    result, events = ask("Go deep", "parent context", config)
    assert result.answer == "child saw 50 chars"
    child_started = [e for e in events.of(RunStarted) if e.depth == 1]
    assert len(child_started) == 1
    call = events.of(SubCallStarted)[0]
    assert call.kind == "rlm" and child_started[0].parent_call_id == call.call_id
    # 3 child root calls + 1 llm_query; the rlm_query call itself is a container
    assert result.sub_calls == 4
    assert result.iterations == 2  # root turns of the top-level RLM only


def test_depth_one_rlm_query_falls_back_to_llm_query(standin_env: StandIn) -> None:
    standin_env.on(lambda req: "plain:" + req.prompt, model=SUB)
    standin_env.enqueue(repl("FINAL(rlm_query('hi'))"), model=ROOT)
    result, events = ask("Shallow", "ctx")
    assert result.answer == "plain:hi"
    assert events.of(SubCallStarted)[0].kind == "llm"


def test_iteration_budget_forces_a_final_answer(standin_env: StandIn) -> None:
    standin_env.enqueue(repl("print(1)"), repl("print(2)"), "FINAL(best guess)", model=ROOT)
    config = make_config(budgets=Budgets(max_iterations=2))
    result, events = ask("Never done", "ctx", config)
    assert (result.status, result.answer) == ("limit", "best guess")
    assert len(standin_env.requests) == 3  # N root turns plus one forced-answer call
    assert events.of(RootResponse)[-1].forced
    assert "budget" in standin_env.requests[-1].messages[-1]["content"]


def test_sub_call_budget_refusal_is_seen_by_the_code(standin_env: StandIn) -> None:
    standin_env.on(lambda req: "ok", model=SUB)
    standin_env.enqueue(
        repl(
            "got = []\n"
            "for i in range(5):\n"
            "    try:\n"
            "        got.append(llm_query(str(i)))\n"
            "    except Exception as exc:\n"
            "        got.append(str(exc))\n"
            "print(got)"
        ),
        "FINAL(done)",
        model=ROOT,
    )
    config = make_config(budgets=Budgets(max_sub_calls=2))
    result, events = ask("Spend", "ctx", config)
    output = events.of(CodeExecuted)[0].output
    assert output.count("'ok'") == 2 and "max_sub_calls" in output
    assert result.sub_calls == 2


def test_token_budget_ends_the_run_with_limit(standin_env: StandIn) -> None:
    standin_env.enqueue(Reply(repl("print(1)"), output_tokens=600), "FINAL(enough)", model=ROOT)
    config = make_config(budgets=Budgets(max_tokens=500))
    result, _ = ask("Spend tokens", "ctx", config)
    assert (result.status, result.answer) == ("limit", "enough")


def test_rate_limit_then_ok_is_retried(standin_env: StandIn) -> None:
    standin_env.fail(429, times=1, model=ROOT)
    standin_env.enqueue("FINAL(after retry)", model=ROOT)
    result, _ = ask("Retry", "ctx")
    assert result.answer == "after retry"
    assert len(standin_env.requests) == 2


def test_persistent_server_error_fails_cleanly(standin_env: StandIn) -> None:
    standin_env.fail(500, times=100, model=ROOT)
    result, events = ask("Doomed", "ctx", make_config(max_retries=2))
    assert result.status == "failed"
    assert "500" in result.error
    assert len(standin_env.requests) == 3
    assert isinstance(events.events[-1], RunFinished)


def test_sub_call_error_reaches_the_code_and_the_run_goes_on(standin_env: StandIn) -> None:
    standin_env.fail(500, times=100, model=SUB)
    standin_env.enqueue(
        repl("try:\n    llm_query('x')\nexcept Exception as exc:\n    print('caught', exc)"),
        "FINAL(survived)",
        model=ROOT,
    )
    result, events = ask("Sub fails", "ctx", make_config(max_retries=0))
    assert result.answer == "survived"
    assert "caught" in events.of(CodeExecuted)[0].output
    assert events.of(SubCallFinished)[0].error


def test_reply_without_code_or_final_is_answered_with_guidance(standin_env: StandIn) -> None:
    standin_env.enqueue("I am thinking about it.", "FINAL(ok)", model=ROOT)
    result, _ = ask("Think", "ctx")
    assert result.answer == "ok"
    assert "no ```repl code block" in standin_env.requests[1].messages[-1]["content"]


def test_history_holds_replies_and_outputs_in_order(standin_env: StandIn) -> None:
    standin_env.enqueue(repl("print('out-1')"), "FINAL(x)", model=ROOT)
    ask("History", "ctx")
    second = standin_env.requests[1]
    assert second.system
    roles = [m["role"] for m in second.messages]
    assert roles == ["user", "assistant", "user"]
    assert "out-1" in second.messages[2]["content"]


def test_infinite_loop_is_stopped_and_the_run_goes_on(standin_env: StandIn) -> None:
    standin_env.enqueue(repl("while True:\n    pass"), "FINAL(recovered)", model=ROOT)
    result, events = ask("Loop", "ctx", make_config(exec_timeout_s=2.0))
    assert result.answer == "recovered"
    executed = events.of(CodeExecuted)[0]
    assert executed.error or executed.restarted


def test_planted_key_never_reaches_the_sandbox(standin_env: StandIn) -> None:
    standin_env.enqueue(
        repl(
            "import os\n"
            "found = [v for v in os.environ.values() if 'test-key' in v]\n"
            "for pid in os.listdir('/proc'):\n"
            "    try:\n"
            "        found.append(open(f'/proc/{pid}/environ', 'rb').read().decode())\n"
            "    except Exception:\n"
            "        pass\n"
            "FINAL(str(sum('test-key' in f for f in found)))"
        ),
        model=ROOT,
    )
    result, _ = ask("Steal", "ctx")
    assert result.answer == "0"


def test_anthropic_root_with_openai_sub(standin_env: StandIn) -> None:
    standin_env.on(lambda req: "sub says hi", model=SUB)
    standin_env.enqueue(repl("FINAL(llm_query('hello'))"), model="claude-root")
    config = make_config(root=ModelSpec("anthropic", "claude-root"))
    result, _ = ask("Mixed", "ctx", config)
    assert result.answer == "sub says hi"
    assert [r.api for r in standin_env.requests] == ["anthropic", "openai"]


def test_events_are_ordered_and_round_trip_through_json(standin_env: StandIn) -> None:
    standin_env.on(lambda req: "s", model=SUB)
    standin_env.enqueue(repl("print(llm_query('q'))"), "FINAL(done)", model=ROOT)
    result, events = ask("Events", "ctx")
    types = [e.type for e in events.events]
    assert types[0] == "run_started" and types[-1] == "run_finished"
    assert types.index("sub_call_started") < types.index("code_executed")
    for event in events.events:
        assert event_from_dict(json.loads(json.dumps(event.to_dict()))) == event
    finished = events.events[-1]
    assert (finished.sub_calls, finished.input_tokens) == (result.sub_calls, result.input_tokens)
    assert result.input_tokens == sum(
        r.usage.input_tokens for r in events.of(RootResponse) + events.of(SubCallFinished)
    )


def test_unknown_price_is_unknown_not_zero(standin_env: StandIn) -> None:
    standin_env.enqueue("FINAL(x)", model=ROOT)
    result, _ = ask("Price", "ctx")
    assert result.cost_usd is None


def test_follow_up_question_sees_earlier_variables(standin_env: StandIn) -> None:
    standin_env.enqueue(repl("kept = 41"), "FINAL(first)", model=ROOT)
    standin_env.enqueue(repl("FINAL(kept + 1)"), model=ROOT)
    with Session("ctx", Credentials.from_env()) as session:
        first = session.run("Q1", make_config())
        second = session.run("Q2", make_config())
    assert (first.answer, second.answer) == ("first", "42")
    assert "kept (int)" in standin_env.requests[2].messages[0]["content"]


def test_follow_up_question_uses_its_own_output_limit(standin_env: StandIn) -> None:
    standin_env.enqueue(repl("print('a' * 500)"), "FINAL(one)", model=ROOT)
    standin_env.enqueue(repl("print('b' * 500)"), "FINAL(two)", model=ROOT)
    with Session("ctx", Credentials.from_env()) as session:
        session.run("Q1", make_config(output_limit_chars=1_000))
        events = Collector()
        session.run("Q2", make_config(output_limit_chars=100), on_event=events)
    (executed,) = events.of(CodeExecuted)
    assert executed.output_chars > 500
    assert len(executed.output) < 300


def test_cancel_stops_the_run(standin_env: StandIn) -> None:
    cancel = threading.Event()
    standin_env.on(lambda req: cancel.set() or "x", model=SUB)
    standin_env.enqueue(
        repl("for i in range(100):\n    llm_query(str(i))"), "FINAL(never)", model=ROOT
    )
    events = Collector()
    result = run("Stop me", "ctx", make_config(), on_event=events, cancel=cancel)
    assert result.status == "cancelled"
    assert result.sub_calls == 1


def test_missing_key_fails_with_a_clear_message() -> None:
    result, _ = ask("No key", "ctx")
    assert result.status == "failed"
    assert "OPENAI_API_KEY" in result.error


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_wrong_key_fails_without_retry(standin: StandIn, provider: str) -> None:
    credentials = Credentials(
        openai_api_key="bad-key",
        anthropic_api_key="bad-key",
        openai_base_url=standin.openai_base_url,
        anthropic_base_url=standin.anthropic_base_url,
    )
    config = make_config(root=ModelSpec(provider, ROOT))
    result = run("Bad key", "ctx", config, credentials=credentials)
    assert result.status == "failed"
    assert len(standin.requests) == 1
    assert "bad-key" not in result.error


def test_small_variant_runs_unfenced_code_and_clips_output(standin_env: StandIn) -> None:
    standin_env.enqueue("print('seen ' + 'y' * 10_000)", "FINAL(seen)", model=ROOT)
    result, events = ask("Small", "ctx", make_config(prompt_variant="small"))
    assert result.answer == "seen"
    assert events.of(CodeExecuted)[0].output_chars >= 10_000
    shown = standin_env.requests[1].messages[-1]["content"]
    assert "characters truncated" in shown and len(shown) < 4_000
    assert standin_env.requests[0].stop  # the small variant stops the model inventing output


def test_small_variant_notes_code_that_never_reads_context(standin_env: StandIn) -> None:
    standin_env.enqueue(
        "```repl\nprint('guess')\n```",
        "```repl\nprint(context[:5])\n```",
        "```repl\nprint('ok')\n```",
        "FINAL(ok)",
        model=ROOT,
    )
    result, _ = ask("Small", "ctx", make_config(prompt_variant="small"))
    assert result.answer == "ok"
    after = [request.messages[-1]["content"] for request in standin_env.requests[1:]]
    assert prompts.CONTEXT_NOT_READ in after[0] and prompts.SEARCH_CONTEXT_NEXT in after[0]
    assert "FINAL" not in after[0]  # not invited to answer before it read the corpus
    assert all(prompts.CONTEXT_NOT_READ not in message for message in after[1:])
    assert all("reply with FINAL(answer)" in message for message in after[1:])


def test_default_variant_does_not_run_unfenced_code(standin_env: StandIn) -> None:
    standin_env.enqueue("print('hi')", "FINAL(done)", model=ROOT)
    _, events = ask("Default", "ctx")
    assert events.of(CodeExecuted) == []
