"""Old REPL outputs give way past the configured size; the rest of the conversation stays."""

from __future__ import annotations

from rlm_engine import Credentials, ModelSpec, RunConfig, run
from rlm_engine.events import Event, Notice
from rlm_engine.history import fit, total_chars
from rlm_testkit.standin import StandIn


def conversation(outputs: int, size: int) -> list[dict[str, str]]:
    messages = [
        {"role": "system", "content": "system prompt"},
        {"role": "user", "content": "Question: q"},
    ]
    for index in range(outputs):
        messages.append({"role": "assistant", "content": f"```repl\nprint({index})\n```"})
        messages.append({"role": "user", "content": f"output {index} " + "x" * size})
    return messages


def test_nothing_changes_under_the_limit() -> None:
    messages = conversation(3, 100)
    before = [dict(m) for m in messages]
    assert fit(messages, 10_000) == 0
    assert messages == before


def test_no_limit_keeps_everything() -> None:
    messages = conversation(3, 10_000)
    assert fit(messages, None) == 0


def test_oldest_outputs_go_first_until_it_fits() -> None:
    messages = conversation(4, 1_000)
    elided = fit(messages, 2_500)
    assert total_chars(messages) <= 2_500
    outputs = [m["content"] for m in messages[3::2]]
    assert [o.startswith("[REPL output elided") for o in outputs] == [True] * elided + [False] * (
        4 - elided
    )
    assert elided >= 1


def test_system_question_code_and_newest_output_are_kept() -> None:
    messages = conversation(3, 5_000)
    fit(messages, 100)  # cannot fit: everything that may go is gone
    assert messages[0]["content"] == "system prompt"
    assert messages[1]["content"] == "Question: q"
    assert [m["content"] for m in messages[2::2]] == [f"```repl\nprint({i})\n```" for i in range(3)]
    assert messages[-1]["content"].startswith("output 2 ")


def test_the_note_says_how_much_was_there() -> None:
    messages = conversation(2, 1_000)
    fit(messages, 1_500)
    assert "1,009 characters" in messages[3]["content"]


def test_a_long_run_sends_the_model_elided_outputs(standin_env: StandIn) -> None:
    # three different blocks (the same block three times would be a stall, see test_stall.py)
    blocks = [f"```repl\nprint('y' * {n})\n```" for n in (3000, 3001, 3002)]
    standin_env.enqueue(*blocks, "FINAL(done)")
    events: list[Event] = []
    config = RunConfig(root=ModelSpec("openai", "root-model"), max_history_chars=5_000)
    result = run(
        "q", "some context", config, credentials=Credentials.from_env(), on_event=events.append
    )

    assert result.answer == "done"
    last = standin_env.requests[-1].messages
    outputs = [m["content"] for m in last if m["role"] == "user"][1:]
    assert outputs[0].startswith("[REPL output elided")
    assert "y" * 3000 in outputs[-1]
    assert sum(len(m["content"]) for m in last) <= 5_000
    assert sum("oldest REPL outputs" in e.message for e in events if isinstance(e, Notice)) == 1
