"""Guards against answers from nothing and loops: real sandbox, real HTTP to the stand-in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rlm_engine import Credentials, ModelSpec, RunConfig, prompts, run
from rlm_engine.answers import plain_value
from rlm_engine.config import GuardConfig
from rlm_engine.events import CodeExecuted, FinalAnswer, Notice, RunFinished, SubCallStarted
from rlm_engine.guards import EMPTY_OUTPUT, QUESTION_ONLY_REFUSED, Evidence, echoes_question
from rlm_testkit.runs import Collector
from rlm_testkit.standin import StandIn

ROOT = "root-model"
SUB = "sub-model"
DOCS = [
    "SERVICE AGREEMENT between Harbour Council and Juniper Energy. Renewal date: 2027-03-14.",
    "Invoice INV-101 from Acme. Total due: USD 1,098,000.",
]


def small_config(**overrides: object) -> RunConfig:
    values: dict[str, object] = {
        "root": ModelSpec("openai", ROOT),
        "sub": ModelSpec("openai", SUB),
        "exec_timeout_s": 20.0,
        "prompt_variant": "small",
        "first_look": False,  # the guards alone (tests/test_first_look.py has the first look)
    }
    values.update(overrides)
    return RunConfig(**values)  # type: ignore[arg-type]


def repl(code: str) -> str:
    return f"```repl\n{code}\n```"


def ask(question: str, config: RunConfig | None = None, docs: list[str] | None = None):
    events = Collector()
    result = run(
        question,
        docs or DOCS,
        config or small_config(),
        credentials=Credentials.from_env(),
        on_event=events,
    )
    return result, events


def last_user_message(standin: StandIn, index: int) -> str:
    return standin.requests[index].messages[-1]["content"]


def test_unsupported_final_is_refused_then_accepted_and_marked(standin_env: StandIn) -> None:
    standin_env.enqueue(
        repl("print(context[0][:40])"),
        "FINAL(1000)",
        "FINAL(1000)",
        "FINAL(1000)",
        model=ROOT,
    )
    result, events = ask("What is the total of invoice INV-101?")
    assert (result.status, result.answer, result.unsupported) == ("completed", "1000", True)
    assert result.iterations == 4
    refusals = [n.message for n in events.of(Notice) if "was not accepted" in n.message]
    assert len(refusals) == 2  # GuardConfig.evidence_refusals
    assert "was not accepted" in last_user_message(standin_env, 2)
    final = events.of(FinalAnswer)[0]
    assert final.unsupported and events.of(RunFinished)[0].unsupported


def test_supported_final_is_accepted_at_once(standin_env: StandIn) -> None:
    # printed as 1,098,000; answered as 1098000: the same number
    standin_env.enqueue(repl("print(context[1])"), "FINAL(1098000)", model=ROOT)
    result, events = ask("What is the total of invoice INV-101?")
    assert (result.answer, result.unsupported, result.iterations) == ("1098000", False, 2)
    assert not any("was not accepted" in n.message for n in events.of(Notice))
    assert not events.of(FinalAnswer)[0].unsupported


def test_final_in_code_needs_output_the_model_has_seen(standin_env: StandIn) -> None:
    # FINAL called in the block that computed it: the model never saw the value
    standin_env.enqueue(
        repl("n = sum('AGREEMENT' in d for d in context)\nprint(n)\nFINAL(n)"),
        "FINAL(1)",
        model=ROOT,
    )
    result, _ = ask("How many agreements are there?")
    assert (result.answer, result.unsupported, result.iterations) == ("1", False, 2)
    shown = last_user_message(standin_env, 1)
    assert "REPL output of block 1:\n1" in shown and "was not accepted" in shown


def test_final_var_of_a_variable_from_seen_code_is_supported(standin_env: StandIn) -> None:
    standin_env.enqueue(
        repl("hits = [i for i, d in enumerate(context) if 'juniper' in d.lower()]\nprint(hits)"),
        "FINAL_VAR(hits)",
        model=ROOT,
    )
    result, _ = ask("Which documents name Juniper?")
    assert (result.answer, result.unsupported) == ("[0]", False)


def test_evidence_guard_is_off_for_the_default_prompt_and_can_be_turned_on(
    standin_env: StandIn,
) -> None:
    standin_env.enqueue(repl("print(len(context))"), "FINAL(1000)", model=ROOT)
    result, _ = ask("Q?", small_config(prompt_variant="default"))
    assert (result.answer, result.unsupported) == ("1000", False)
    standin_env.enqueue(repl("print(len(context))"), "FINAL(1000)", "FINAL(2)", model=ROOT)
    config = small_config(prompt_variant="default", guards=GuardConfig(require_evidence=True))
    result, _ = ask("Q?", config)
    assert (result.answer, result.unsupported, result.iterations) == ("2", False, 3)


def test_forced_answer_without_evidence_is_marked(standin_env: StandIn) -> None:
    from rlm_engine import Budgets

    standin_env.enqueue(repl("print(context[0][:10])"), "FINAL(42)", model=ROOT)
    result, _ = ask("Q?", small_config(budgets=Budgets(max_iterations=1)))
    assert (result.status, result.answer, result.unsupported) == ("limit", "42", True)


def test_empty_output_does_not_invite_a_final(standin_env: StandIn) -> None:
    standin_env.enqueue(
        repl("hits = [d for d in context if 'agreements' in d]\nprint(hits)"),
        repl("hits = [d for d in context if 'agreement' in d.lower()]\nprint(len(hits))"),
        "FINAL(1)",
        model=ROOT,
    )
    result, _ = ask("How many agreements are there?")
    assert result.answer == "1"
    after_empty = last_user_message(standin_env, 1)
    assert EMPTY_OUTPUT in after_empty and "reply with FINAL(answer)" not in after_empty
    after_hit = last_user_message(standin_env, 2)
    assert EMPTY_OUTPUT not in after_hit and "reply with FINAL(answer)" in after_hit


def test_repeated_block_is_pointed_out(standin_env: StandIn) -> None:
    code = repl("print(context[0][:20])")
    standin_env.enqueue(code, code, "FINAL(SERVICE AGREEMENT)", model=ROOT)
    result, events = ask("What kind of document is the first?")
    assert result.answer == "SERVICE AGREEMENT"
    assert "same as the one you ran in iteration 1" not in last_user_message(standin_env, 1)
    assert "same as the one you ran in iteration 1" in last_user_message(standin_env, 2)
    assert any("iteration 1" in n.message for n in events.of(Notice))


def test_repeated_sub_call_prompt_is_pointed_out(standin_env: StandIn) -> None:
    standin_env.on(lambda req: "Juniper Energy", model=SUB)
    code = "print(llm_query('Who is the provider? ' + context[0]))"
    standin_env.enqueue(
        repl(code),
        repl(code.replace("print", "x = 1\nprint")),
        "FINAL(Juniper Energy)",
        model=ROOT,
    )
    result, _ = ask("Who is the provider?")
    assert result.answer == "Juniper Energy"
    assert "same prompt again" not in last_user_message(standin_env, 2)
    assert "same prompt again" in last_user_message(standin_env, 4)


def test_question_only_llm_query_is_refused(standin_env: StandIn) -> None:
    question = "When does the agreement with Juniper Energy renew?"
    standin_env.on(lambda req: "2027-03-14", model=SUB)
    standin_env.enqueue(
        repl(f"print(llm_query({question!r}))"),
        repl(f"print(llm_query('Answer: ' + {question!r} + ' ' + context[0]))"),
        "FINAL(2027-03-14)",
        model=ROOT,
    )
    result, events = ask(question)
    assert result.answer == "2027-03-14"
    refused = events.of(CodeExecuted)[0]
    assert "cannot see `context`" in refused.output and refused.error
    assert QUESTION_ONLY_REFUSED in [n.message for n in events.of(Notice)]
    # the refused call never reached the sub model and is not counted
    prompts_sent = [e.prompt for e in events.of(SubCallStarted)]
    assert len(prompts_sent) == 1 and "SERVICE AGREEMENT" in prompts_sent[0]
    assert result.sub_calls == 1
    assert [r.model for r in standin_env.requests].count(SUB) == 1


def test_ask_json_marks_an_unsupported_answer(standin_env: StandIn, tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text(DOCS[0])
    standin_env.enqueue(repl("print(context[0][:30])"), *["FINAL(1000)"] * 3, model=ROOT)
    args = [
        "ask", "How many?", "--context", str(folder), "--provider", "openai", "--model", ROOT,
        "--prompt-variant", "small", "--json", "--no-save",
    ]  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "rlm_cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["answer"], out["unsupported"]) == ("1000", True)
    # a supported answer has no such key: the contract's keys are unchanged
    standin_env.enqueue(repl("print(context[0][:30])"), "FINAL(SERVICE AGREEMENT)", model=ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "rlm_cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert "unsupported" not in json.loads(proc.stdout)


def test_evidence_normalises_numbers_case_lists_and_dates() -> None:
    evidence = Evidence("Which contracts renew in 2027, and for how much?")
    evidence.saw("Juniper   Energy | 2027-03-14 | $1,098,000.00\nNorthwind Logistics 2027-05-01")
    assert evidence.supports("1098000")
    assert evidence.supports("USD 1,098,000")
    assert evidence.supports("juniper energy")
    assert evidence.supports("Juniper Energy and Northwind Logistics")
    assert evidence.supports("['Juniper Energy', 'Northwind Logistics']")
    assert evidence.supports("14 March 2027")
    assert not evidence.supports("Juniper Energy, Kestrel Security")  # one item never seen
    assert not evidence.supports("1000")
    assert not evidence.supports("0")  # a digit inside 2027 is not the number 0
    assert not evidence.supports("Acme Corporation")
    assert not evidence.supports("")
    # prose with commas is not a list; its own words may be the model's, its numbers not
    assert evidence.supports("The agreement with Juniper Energy renews on 14 March 2027, it says.")
    assert not evidence.supports("The agreement renews on 14 March 2031, it says.")
    assert not evidence.supports("In 2027: Acme Corporation")  # the year is the question's


def test_default_prompts_keep_their_wording() -> None:
    # the default variant's invitation after a non-empty output is unchanged
    message = prompts.repl_results_message(["3\n"], [], small=False)
    assert message.endswith("give your answer with FINAL(...).")
    assert EMPTY_OUTPUT in prompts.repl_results_message(["\n"], [], small=False)


def test_final_in_code_with_a_verbatim_source_is_supported(standin_env: StandIn) -> None:
    code = (
        "import re\nm = re.search(r'Renewal date: (\\S+)', context[0])\n"
        "FINAL(m.group(1).rstrip('.'), sources=[context[0][m.start():m.end()]])"
    )
    standin_env.enqueue(repl(code), model=ROOT)
    result, _ = ask("When does the agreement renew?")
    assert (result.answer, result.unsupported, result.iterations) == ("2027-03-14", False, 1)


def test_final_in_code_with_an_invented_source_is_refused(standin_env: StandIn) -> None:
    standin_env.enqueue(
        repl("FINAL('2031-01-01', sources=['Renewal date: 2031-01-01'])"),
        repl("print(context[0])"),
        "FINAL(2027-03-14)",
        model=ROOT,
    )
    result, _ = ask("When does the agreement renew?")
    assert (result.answer, result.unsupported, result.iterations) == ("2027-03-14", False, 3)
    after_invented = last_user_message(standin_env, 1)
    assert "FINAL(2031-01-01) was not accepted" in after_invented


def test_small_variant_runs_a_fence_without_the_repl_tag(standin_env: StandIn) -> None:
    # measured: Qwen2.5-Coder-1.5B wrote ``` without `repl` three turns running, and nothing ran
    standin_env.enqueue(
        "```\nfor doc in context:\n    print(doc[:20])\n```",
        "FINAL(SERVICE AGREEMENT)",
        model=ROOT,
    )
    result, events = ask("What is the first document?")
    assert (result.answer, result.iterations) == ("SERVICE AGREEMENT", 2)
    assert "SERVICE AGREEMENT" in events.of(CodeExecuted)[0].output


def test_default_variant_leaves_a_fence_without_the_repl_tag(standin_env: StandIn) -> None:
    standin_env.enqueue("```\nprint(1)\n```", "FINAL(done)", model=ROOT)
    _, events = ask("Q?", small_config(prompt_variant="default"))
    assert events.of(CodeExecuted) == []


def test_echo_of_the_question_is_refused_and_the_plain_value_taken(standin_env: StandIn) -> None:
    # seen at 1M characters: the look showed "the saffron team's access code is beacon-132" and
    # the small model answered with the question's words
    docs = ["Reminder: the saffron puffin team's access code is beacon-132."]
    standin_env.enqueue(
        repl("print(context[0])"), "FINAL(access code of the saffron puffin team)", "beacon-132",
        model=ROOT,
    )  # fmt: skip
    result, events = ask("What is the access code of the saffron puffin team?", docs=docs)
    assert (result.status, result.answer, result.unsupported) == ("completed", "beacon-132", False)
    assert "only repeats words of the question" in last_user_message(standin_env, 2)
    assert events.of(FinalAnswer)[0].answer == "beacon-132"


def test_a_plain_reply_is_an_answer_only_when_the_value_was_asked_for(
    standin_env: StandIn,
) -> None:
    docs = ["Reminder: the saffron puffin team's access code is beacon-132."]
    standin_env.enqueue(repl("print(context[0])"), "beacon-132", "FINAL(beacon-132)", model=ROOT)
    result, _ = ask("What is the access code of the saffron puffin team?", docs=docs)
    assert (result.answer, result.iterations) == ("beacon-132", 3)
    assert "NameError" in last_user_message(standin_env, 2)  # the small variant ran it as code


def test_echoes_question_spares_values_choices_and_yes_no() -> None:
    question = "What is the access code of the crimson heron team?"
    assert echoes_question("access", question)
    assert echoes_question("access code issued to the crimson heron team", question)
    assert not echoes_question("beacon-132", question)
    assert not echoes_question("Harbor Catering", "Which vendor issued invoice INV-31424?")
    assert not echoes_question("crimson heron team, 2027", question)  # states a number
    assert not echoes_question("Juniper", "Which renews first, Juniper or Acme?")
    assert not echoes_question("active", "Is the agreement with Juniper Energy active?")
    assert not echoes_question("yes", question)


def test_plain_value_is_one_line_that_is_not_code() -> None:
    assert plain_value("beacon-132") == "beacon-132"
    assert plain_value("`Harbor Catering`.") == "Harbor Catering"
    assert plain_value("print(find('saffron'))") is None
    assert plain_value("x = 3") is None
    assert plain_value("FINAL(3)") is None
    assert plain_value("line one\nline two") is None
