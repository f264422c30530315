"""The Evaluate page under AppTest: a set uploaded with a bad line is refused naming the line; a
good one is saved and offered; edits of a set are checked row by row."""

from __future__ import annotations

import json

import pytest

from rlm_eval.questions import SetError
from tests.apptest import open_app
from webui.eval_setup import _from_rows

GOOD = [
    {"question": "How many?", "expected": 3, "grader": "number"},
    {"question": "Which?", "expected": ["a", "b"], "grader": "set"},
]


def _upload(text: str, name: str = "mine.jsonl"):
    at = open_app()
    at.session_state["ev-source"] = "upload"
    at.switch_page("pages/evaluate.py").run()
    at.get("file_uploader")[0].set_value((name, text.encode(), "application/json")).run()
    return at


def test_bad_line_of_an_uploaded_set_is_named() -> None:
    text = json.dumps(GOOD[0]) + "\n" + json.dumps({"question": "Q", "grader": "exact"}) + "\n"
    at = _upload(text)
    assert not at.exception
    assert any("mine.jsonl: line 2" in e.value and "expected" in e.value for e in at.error)


def test_good_set_is_saved_and_offered() -> None:
    at = _upload("".join(json.dumps(q) + "\n" for q in GOOD))
    at.button(key="ev-save-up").click().run()
    assert not at.exception
    picker = next(s for s in at.selectbox if s.label == "Set to run")
    assert "mine · 2 questions" in picker.format_func(picker.value)


def test_edited_rows_are_checked_and_parsed() -> None:
    rows = [
        {"id": "x", "question": "How many?", "expected": "3", "grader": "number"},
        {"id": "y", "question": "Which?", "expected": '["a", "b"]', "grader": "set"},
        {"id": "z", "question": "Who?", "expected": "Acme Foods", "grader": "exact"},
    ]
    questions = _from_rows(rows)
    assert [q.expected for q in questions] == [3, ["a", "b"], "Acme Foods"]
    rows[1]["grader"] = "fuzzy"
    with pytest.raises(SetError, match="line 2"):
        _from_rows(rows)
    rows[1]["grader"], rows[2]["id"] = "set", "x"
    with pytest.raises(SetError, match="same id"):
        _from_rows(rows)


def test_configuration_names_from_models_are_valid_names() -> None:
    from rlm_engine.config import ModelSpec
    from rlm_eval.configs import EvalConfig, check
    from webui.eval_setup import _name

    root, sub = ModelSpec("openai", "llama3:8b"), ModelSpec("openai", "qwen2,5")
    name = _name(root, sub, "rlm")
    check(EvalConfig(name, {"provider": "openai", "model": "llama3:8b"}))
    assert name == "llama3/8b → qwen2 5 · rlm"


def test_a_corpus_an_evaluation_is_reading_is_not_deleted(standin_env, app_db) -> None:
    import threading
    import time

    from rlm_engine.corpus import load_files

    gate = threading.Event()
    standin_env.on(lambda request: 'FINAL("3")' if gate.wait(60) else None)
    corpus = app_db.save_corpus("Notes", load_files([("a.txt", b"three things")]).documents)
    app_db.evals.save_set("mine", GOOD[:1])
    at = open_app()
    at.session_state["ev-source"] = "saved"
    at.switch_page("pages/evaluate.py").run()
    at.segmented_control(key="ev-count").set_value(1).run()
    for role in ("root", "sub"):
        at.selectbox(key=f"ev-0-{role}-provider").set_value("openai").run()
    at.button(key="ev-run").click().run()
    assert not at.exception
    at.switch_page("pages/corpora.py").run()
    at = at.selectbox(key="corpora-open").set_value(corpus.id).run()
    assert at.button(key="corpora-delete").disabled
    assert any("Evaluate page is reading this corpus" in w.value for w in at.warning)
    gate.set()
    job = at.session_state["rlm_evaluate"].job
    deadline = time.monotonic() + 60
    while not job.done and time.monotonic() < deadline:
        time.sleep(0.1)
    info = app_db.evals.get(job.eval_id)
    assert job.status == "completed", (job.error, info.error, [c.error for c in info.cells])
    assert job.progress.passed == 1
    assert not at.run().button(key="corpora-delete").disabled
