"""The Python API (`from rlm_engine import RLM`): real sandbox, SDKs and HTTP to the stand-in."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from rlm_engine import RLM, ConfigError, CorpusError, ModelSpec, Result
from rlm_engine.api import load_context, parse_model
from rlm_engine.events import CodeExecuted, RunFinished
from rlm_testkit.standin import StandIn


def repl(code: str) -> str:
    return f"Let me look.\n```repl\n{code}\n```"


def test_ask_returns_answer_figures_trace_and_variables(standin_env: StandIn) -> None:
    standin_env.enqueue(
        repl("hits = [d for d in context if 'Juniper' in d]\nprint(len(hits), hits[0][:40])"),
        "FINAL(2027-03-01)",
        model="root-model",
    )
    rlm = RLM(root="openai:root-model", max_iterations=5, exec_timeout_s=20)
    seen = []
    result = rlm.ask(
        "When does the Juniper agreement renew?",
        ["Acme renews 2026-01-01.", "Juniper Energy renews on 2027-03-01."],
        on_event=seen.append,
    )
    assert isinstance(result, Result)
    assert result.ok and result.status == "completed"
    assert result.answer == "2027-03-01"
    assert result.iterations == 2
    assert result.input_tokens > 0 and result.output_tokens > 0
    assert result.elapsed_s > 0
    assert result.variables["hits"].startswith("['Juniper Energy")
    assert [type(e) for e in result.trace] == [type(e) for e in seen]
    assert any(isinstance(e, CodeExecuted) for e in result.trace)
    assert isinstance(result.trace[-1], RunFinished)
    docs = ["Acme renews 2026-01-01.", "Juniper Energy renews on 2027-03-01."]
    assert result.sources, "the printed document holds the answer"
    for source in result.sources:
        assert docs[source["document_index"]][source["start"] : source["end"]] == source["text"]
    assert "2027-03-01" in result.sources[0]["text"]


def test_with_block_keeps_one_repl_across_questions(standin_env: StandIn) -> None:
    standin_env.enqueue(
        repl("total = sum(len(d) for d in context)\nprint(total)"),
        "FINAL_VAR(total)",
        repl("print(total * 2)"),
        "FINAL(done)",
        model="root-model",
    )
    with RLM(root="openai:root-model", exec_timeout_s=20) as rlm:
        first = rlm.ask("How many characters?", ["abc", "defg"])
        second = rlm.ask("Twice that?")  # same REPL: `total` is still defined
    assert first.answer == "7"
    assert second.answer == "done"
    outputs = [e.output for e in second.trace if isinstance(e, CodeExecuted)]
    assert outputs == ["14\n"]
    # the second question is told of `total`; neither is told `context` is left from before
    opening = [r.prompt for r in standin_env.requests if "still defined" in r.prompt]
    assert len(opening) == 1  # the second question only: the first had none to tell of
    assert all("total (int)" in p and "context (" not in p for p in opening)


def test_without_with_each_question_gets_a_fresh_repl(standin_env: StandIn) -> None:
    standin_env.enqueue(
        repl("x = 1\nprint(x)"),
        "FINAL(one)",
        repl("print(x)"),
        "FINAL(two)",
        model="root-model",
    )
    rlm = RLM(root="openai:root-model", exec_timeout_s=20)
    rlm.ask("first", "some text")
    second = rlm.ask("second", "some text")
    errors = [e.error for e in second.trace if isinstance(e, CodeExecuted)]
    assert errors and "NameError" in errors[0]
    with pytest.raises(CorpusError, match="No context"):
        rlm.ask("third")


def test_aask_runs_in_asyncio(standin_env: StandIn) -> None:
    standin_env.enqueue(repl("print(len(context))"), "FINAL(11)", model="root-model")
    rlm = RLM(root="openai:root-model", exec_timeout_s=20)

    async def main() -> Result:
        return await rlm.aask("How long?", "hello world")

    result = asyncio.run(main())
    assert result.answer == "11"


def test_sources_name_the_files_a_path_context_came_from(
    standin_env: StandIn, tmp_path: Path
) -> None:
    (tmp_path / "acme.txt").write_text("Acme renews on 2026-01-01.")
    (tmp_path / "juniper.txt").write_text("Juniper Energy renews on 2027-03-01.")
    standin_env.enqueue(repl("print(context[1])"), "FINAL(2027-03-01)", model="root-model")
    result = RLM(root="openai:root-model", exec_timeout_s=20).ask("When?", tmp_path)
    assert [(s["document"], s["text"]) for s in result.sources] == [
        ("juniper.txt", "Juniper Energy renews on 2027-03-01.")
    ]


def test_context_from_paths(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("alpha")
    (tmp_path / "b.txt").write_text("beta")
    assert load_context(tmp_path) == ["alpha", "beta"]
    assert load_context([tmp_path / "b.txt"]) == "beta"
    assert load_context("plain text, not a path") == "plain text, not a path"
    with pytest.raises(CorpusError):
        load_context([1, 2])  # type: ignore[list-item]


def test_model_strings() -> None:
    assert parse_model("anthropic:claude-haiku-4-5") == ModelSpec("anthropic", "claude-haiku-4-5")
    assert parse_model("local:/models/x.gguf") == ModelSpec("local", "/models/x.gguf")
    with pytest.raises(ConfigError, match="max_iteratons"):
        RLM(root="openai:m", max_iteratons=3)
