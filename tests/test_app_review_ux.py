"""What a user trips over while watching and reviewing runs (AppTest, real SQLite, the stand-in)."""

from __future__ import annotations

import threading
from typing import Any

from streamlit.testing.v1 import AppTest

from rlm_testkit.standin import StandIn
from tests.apptest import RUN_TIMEOUT_S, open_app, record_run

ROOT = "root-model"
SUB = "sub-model"
NOTES = b"Meeting notes.\n" + b"The launch code is 7431.\n" * 1000


def open_ask() -> AppTest:
    at = open_app()
    at.text_input(key="ask-root-model").set_value(ROOT)
    at.text_input(key="ask-sub-model").set_value(SUB)
    return at.run()


def upload(at: AppTest, *files: tuple[str, bytes, str]) -> AppTest:
    return at.file_uploader(key="ask-upload").set_value(list(files)).run()


def ask(at: AppTest, question: str) -> AppTest:
    return at.chat_input(key="ask-question").set_value(question).run()


def captions(at: AppTest) -> list[str]:
    return [str(c.value) for c in at.caption]


def test_a_stopped_run_is_called_stopped_in_history(app_db: Any) -> None:
    record_run(app_db, "Halted question", status="cancelled")
    at = open_app("pages/history.py")
    assert " · stopped · " in at.radio(key="history-rows").proto.captions[0]
    assert "stopped" in at.selectbox(key="history-open").options[0]
    assert "stopped" in at.selectbox(key="history-status").options
    assert "cancelled" not in " ".join(at.selectbox(key="history-status").options)


def test_a_stopped_filter_still_finds_cancelled_runs(app_db: Any) -> None:
    record_run(app_db, "Halted question", status="cancelled")
    record_run(app_db, "Done question")
    at = open_app("pages/history.py")
    at.selectbox(key="history-status").select("cancelled").run()
    assert at.radio(key="history-rows").options == ["**Halted question**"]


def test_iteration_header_includes_the_code_time(app_db: Any) -> None:
    run_id = record_run(app_db, "Timed question")
    at = open_app("pages/history.py")
    at.selectbox(key="history-open").select(run_id).run()
    [header] = [e.label for e in at.expander if e.label.startswith("Iteration 1")]
    assert "1.1 s (model 1.0 s, code 0.1 s)" in header


def test_documents_table_formats_counts_and_header_follows_a_replaced_file(
    standin_env: StandIn,
) -> None:
    at = upload(open_ask(), ("first.txt", NOTES, "text/plain"))
    table = at.dataframe[0].value
    assert list(table["characters"]) == [f"{len(NOTES):,}"]
    assert list(table["pages"]) == ["-"]  # a text file has no pages, never "None"
    at = upload(at, ("second.txt", b"Other notes.", "text/plain"))
    assert any(e.label == "Documents · second" for e in at.expander)


def test_a_question_of_only_spaces_says_why_nothing_was_asked(standin_env: StandIn) -> None:
    at = ask(upload(open_ask(), ("notes.txt", NOTES, "text/plain")), "    ")
    assert any("only spaces" in w.value for w in at.warning)
    assert at.session_state["rlm_workspace"].conversation == []


def test_cost_budget_notice_shows_once_in_a_live_run(standin_env: StandIn) -> None:
    gate = threading.Event()
    standin_env.on(lambda request: "FINAL(done)" if gate.wait(60) else None, model=ROOT)
    at = ask(upload(open_ask(), ("notes.txt", NOTES, "text/plain")), "Anything")
    handle = at.session_state["rlm_workspace"].conversation[0]
    for _ in range(100):
        if any("cannot be enforced" in c for c in captions(at)):
            break
        handle.wait(0.1)
        at.run()
    notices = [c for c in captions(at) if "cannot be enforced" in c]
    gate.set()
    assert handle.wait(RUN_TIMEOUT_S)
    assert len(notices) == 1
    assert "the prices of root-model and sub-model are unknown" in notices[0]


def test_clicking_a_history_row_opens_its_run(app_db: Any) -> None:
    record_run(app_db, "Older question", started=1_700_000_000)
    newer = record_run(app_db, "Newer question", started=1_700_000_100)
    at = open_app("pages/history.py")
    assert not at.dataframe  # a light list: no canvas table and its 1.5 MB of scripts
    at.radio(key="history-rows").set_value(newer).run()
    assert at.selectbox(key="history-open").value == newer
    assert any(h.value == "Newer question" for h in at.subheader)
    at.selectbox(key="history-open").select_index(1).run()  # chosen in the picker:
    assert at.radio(key="history-rows").index == 1  # the list marks it too


def test_ask_again_prefills_ask_with_the_question_corpus_and_models(
    app_db: Any, standin_env: StandIn
) -> None:
    from rlm_engine.corpus import load_files

    corpus = app_db.save_corpus("Notes", load_files([("n.txt", NOTES)]).documents)
    run_id = record_run(app_db, "What is the code?", model="old-root", corpus_id=corpus.id)
    at = open_app("pages/history.py")
    at.selectbox(key="history-open").select(run_id).run()
    at.button(key="history-ask-again").click().run()
    at.switch_page("pages/ask.py").run()  # AppTest follows a script's switch_page this way
    assert at.text_input(key="ask-root-model").value == "old-root"
    assert any(c.value == "What is the code?" for c in at.code)
    assert at.session_state["rlm_workspace"].corpus_id == corpus.id
    standin_env.enqueue("FINAL(7431)", model=ROOT)
    at.text_input(key="ask-root-model").set_value(ROOT).run()  # another configuration
    at.button(key="ask-again-go").click().run()
    [handle] = at.session_state["rlm_workspace"].conversation
    assert handle.question == "What is the code?"
    assert handle.wait(RUN_TIMEOUT_S)
