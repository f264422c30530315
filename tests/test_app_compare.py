"""The Compare page under AppTest: concurrent runs against the stand-in, saved and picked runs."""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from rlm_engine.corpus import load_files
from rlm_testkit.standin import StandIn
from tests.apptest import RUN_TIMEOUT_S, open_app, record_run
from webui.compare_flow import unique_labels
from webui.compare_view import word_diff

NOTES = b"The launch code is 7431. The backup code is 1111."


@pytest.fixture
def corpus(app_db: Any) -> Any:
    return app_db.save_corpus("Codes", load_files([("codes.txt", NOTES)]).documents)


def run_comparison(at: AppTest, question: str, roots: list[str]) -> AppTest:
    at.text_area(key="cmp-question").set_value(question)
    for position, root in enumerate(roots):
        at.text_input(key=f"cmp-{position}-root-model").set_value(root)
    at.button(key="cmp-run").click().run()
    for handle in at.session_state["rlm_compare"].handles:
        assert handle.wait(RUN_TIMEOUT_S), "a run did not finish"
    return at.run()


def test_two_configurations_run_side_by_side(standin_env: StandIn, corpus: Any) -> None:
    standin_env.enqueue("FINAL(7431)", model="model-a")
    standin_env.enqueue("FINAL(The code is 1111)", model="model-b")
    at = run_comparison(open_app("pages/compare.py"), "Which code?", ["model-a", "model-b"])
    answers = [at.get_by_key(f"cmp-live-{n}-answer") for n in (0, 1)]  # type: ignore[attr-defined]
    assert [a.markdown[0].value for a in answers] == ["7431", "The code is 1111"]
    assert not at.exception


def test_comparison_is_saved_with_its_runs(standin_env: StandIn, app_db: Any, corpus: Any) -> None:
    standin_env.on(lambda request: "FINAL(7431)")
    run_comparison(open_app("pages/compare.py"), "Which code?", ["model-a", "model-b"])
    (saved,) = app_db.list_comparisons()
    assert [r.status for r in app_db.get_comparison(saved.id).runs] == ["completed", "completed"]


def answers_shown(at: AppTest, key: str, count: int) -> list[str]:
    """The answers of the columns keyed `{key}-0` … , left to right."""
    boxes = [at.get_by_key(f"{key}-{n}-answer") for n in range(count)]  # type: ignore[attr-defined]
    return [box.markdown[0].value for box in boxes]


def test_saved_comparison_reopens(standin_env: StandIn, app_db: Any, corpus: Any) -> None:
    models = ["model-a", "model-b", "model-c"]
    for model in models:
        standin_env.enqueue(f"FINAL(answer of {model})", model=model)
    at = open_app("pages/compare.py")
    at.segmented_control(key="cmp-count").set_value(3).run()
    run_comparison(at, "Which code?", models)
    (saved,) = app_db.list_comparisons()
    at = open_app("pages/compare.py")
    at = at.selectbox(key="cmp-saved").set_value(saved.id).run()
    shown = answers_shown(at, f"cmp-saved-{saved.id}", 3)
    assert shown == [f"answer of {model}" for model in models]  # the columns, as when run
    assert "Differences between answers" in [h.value for h in at.subheader]


def test_saved_comparison_keeps_its_columns_whatever_run_started_first(app_db: Any) -> None:
    labels = ["first", "second", "third"]
    comparison_id = app_db.create_comparison("Which code?", None, labels)
    for label, started in zip(labels, [300.0, 100.0, 200.0], strict=True):
        record_run(
            app_db, "Which code?", answer=f"from {label}", started=started,
            comparison_id=comparison_id, label=label,
        )  # fmt: skip
    at = open_app("pages/compare.py")
    at = at.selectbox(key="cmp-saved").set_value(comparison_id).run()
    shown = answers_shown(at, f"cmp-saved-{comparison_id}", 3)
    assert shown == ["from first", "from second", "from third"]


def test_a_saved_comparison_can_be_deleted_its_runs_stay(app_db: Any) -> None:
    comparison_id = app_db.create_comparison("Which code?", None, ["a", "b"])
    run_ids = [
        record_run(app_db, "Which code?", comparison_id=comparison_id, label=label)
        for label in ("a", "b")
    ]
    at = open_app("pages/compare.py")
    at = at.selectbox(key="cmp-saved").set_value(comparison_id).run()
    at.button(key="cmp-saved-delete").click().run()
    assert app_db.get_comparison(comparison_id) is None
    assert all(app_db.get_run(run_id) is not None for run_id in run_ids)
    assert not at.exception


def test_the_same_models_twice_get_labels_that_tell_them_apart() -> None:
    assert unique_labels(["a → b", "c → d", "a → b"]) == ["a → b", "c → d", "a → b (2)"]


def test_runs_picked_from_history_are_compared(app_db: Any) -> None:
    first = record_run(app_db, "Question one", answer="alpha beta")
    second = record_run(app_db, "Question two", answer="alpha gamma")
    at = open_app("pages/compare.py")
    at = at.multiselect(key="cmp-picked").set_value([first, second]).run()
    assert "Differences between answers" in [h.value for h in at.subheader]
    assert not at.exception


def test_compare_without_a_corpus_says_what_to_do(app_db: Any) -> None:
    at = open_app("pages/compare.py")
    assert any("saved corpus" in i.value for i in at.info)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("the code is 7431", "the code is 1111", "the code is <del>7431</del> <ins>1111</ins>"),
        ("same", "same", "same"),
        ("a <b>", "a", "a <del>&lt;b&gt;</del>"),
    ],
)
def test_word_diff_marks_removed_and_added_words(old: str, new: str, expected: str) -> None:
    assert word_diff(old, new) == expected


def test_the_difference_of_answers_is_of_their_text_as_written(app_db: Any) -> None:
    comparison_id = app_db.create_comparison("Which code?", None, ["a", "b"])
    for label, answer in (("a", "The code is **7431**."), ("b", "The code is `1111`.")):
        record_run(app_db, "Q", answer=answer, comparison_id=comparison_id, label=label)
    at = open_app("pages/compare.py")
    at = at.selectbox(key="cmp-saved").set_value(comparison_id).run()
    (diff,) = [h.proto.body for h in at.get("html") if "<del>" in h.proto.body]  # not anchors
    assert "<del>**7431**.</del> <ins>`1111`.</ins>" in diff  # nothing eaten, nothing drawn
