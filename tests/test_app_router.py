"""The method (auto | RLM | direct) in the app: Ask defaults to auto and shows why a method was
chosen; Compare lets each configuration pick its own. AppTest against the stand-in."""

from __future__ import annotations

from typing import Any

from rlm_engine.corpus import load_files
from rlm_testkit.standin import StandIn
from tests.apptest import RUN_TIMEOUT_S, markdown_text, open_app
from tests.test_app_ask import NOTES, ROOT, ask, finish, open_ask, repl, upload

KNOWN = "gpt-4o-mini"  # the price table knows its window (128,000 tokens)


def captions(at: Any) -> str:
    return "\n".join(c.value for c in at.caption)


def test_ask_reads_a_small_corpus_directly_and_says_why(standin_env: StandIn) -> None:
    standin_env.enqueue("The launch code is 7431.", model=KNOWN)
    at = open_ask(root=KNOWN)
    assert at.button_group(key="ask-method").value == "auto"
    at = finish(ask(upload(at, ("notes.txt", NOTES, "text/plain")), "What is the code?"))
    assert "read directly: about 18 tokens fit the 128,000-token window." in captions(at)
    assert "The launch code is 7431." in markdown_text(at)
    assert NOTES.decode() in standin_env.requests[0].prompt
    assert len(standin_env.requests) == 1
    assert not at.exception


def test_ask_says_why_the_rlm_runs_for_a_model_of_unknown_window(standin_env: StandIn) -> None:
    standin_env.enqueue(repl("print(context[0][:60])"), "FINAL(7431)", model=ROOT)
    at = finish(ask(upload(open_ask(), ("notes.txt", NOTES, "text/plain")), "What is the code?"))
    assert "RLM: the window of root-model is unknown" in captions(at)
    assert "7431" in markdown_text(at)
    assert not at.exception


def test_method_rlm_overrides_auto_in_ask(standin_env: StandIn) -> None:
    standin_env.enqueue(repl("print(context[0][:60])"), "FINAL(7431)", model=KNOWN)
    at = open_ask(root=KNOWN)
    at.button_group(key="ask-method").set_value("rlm").run()
    at = finish(ask(upload(at, ("notes.txt", NOTES, "text/plain")), "What is the code?"))
    assert "RLM: the run's method is rlm." in captions(at)
    assert len(standin_env.requests) == 2  # two root turns, no direct read
    assert not at.exception


def test_compare_runs_direct_against_rlm(standin_env: StandIn, app_db: Any) -> None:
    app_db.save_corpus("Codes", load_files([("codes.txt", NOTES)]).documents)
    standin_env.enqueue("7431", model="model-a")
    standin_env.enqueue(repl("print(context[0][:60])"), "FINAL(7431)", model="model-b")
    at = open_app("pages/compare.py")
    at.text_area(key="cmp-question").set_value("Which code?")
    for position, (model, method) in enumerate((("model-a", "direct"), ("model-b", "rlm"))):
        at.text_input(key=f"cmp-{position}-root-model").set_value(model)
        at.button_group(key=f"cmp-{position}-method").set_value(method)
    at.button(key="cmp-run").click().run()
    for handle in at.session_state["rlm_compare"].handles:
        assert handle.wait(RUN_TIMEOUT_S), "a run did not finish"
    at.run()
    shown = captions(at)
    assert "read directly" in shown and "RLM: the run's method is rlm." in shown
    (saved,) = app_db.list_comparisons()
    assert saved.labels[0].endswith("· direct") and saved.labels[1].endswith("· rlm")
    assert not at.exception


def test_ask_marks_a_fallback_answer_and_the_guard_that_fired(standin_env: StandIn) -> None:
    standin_env.on(lambda req: "7431" if "7431" in req.prompt else "NO_ANSWER", model="sub-model")
    standin_env.enqueue(*["Let me think."] * 5, "FINAL(7431)", model=ROOT)  # idle: 5, then offer
    at = finish(ask(upload(open_ask(), ("notes.txt", NOTES, "text/plain")), "What is the code?"))
    assert any("Fallback answer" in i.value for i in at.info)
    for expander in at.expander:
        if expander.label.startswith("Iteration 5"):
            shown = "\n".join(c.value for c in expander.caption)
            assert "Guard **idle_replies** fired (the engine ran its fallback)" in shown
            assert "The engine's fallback" in "\n".join(m.value for m in expander.markdown)
            break
    else:
        raise AssertionError("no panel for iteration 5")
    assert not at.exception
