"""History under AppTest: star and tag runs and filter by them, a conversation as one row, and
resuming it on Ask (a new session on the same corpus, the saved turns above, nothing re-run)."""

from __future__ import annotations

from typing import Any

from rlm_engine.corpus import load_files
from rlm_testkit.standin import StandIn
from tests.apptest import RUN_TIMEOUT_S, markdown_text, open_app, record_run

NOTES = b"Meeting notes.\nThe launch code is 7431.\n"


def listed(at: Any) -> list[str]:
    """The runs offered for review, as their labels, in the order shown."""
    return list(at.selectbox(key="history-open").options)


def opened(run_id: str) -> Any:
    at = open_app("pages/history.py")
    return at.selectbox(key="history-open").set_value(run_id).run()


def test_a_starred_run_is_kept_by_the_starred_filter(app_db: Any) -> None:
    record_run(app_db, "Plain question")
    run_id = record_run(app_db, "Good question")
    at = opened(run_id)
    at.button(key=f"history-star-{run_id}").click().run()
    assert app_db.get_run(run_id).starred
    at.toggle(key="history-starred").set_value(True).run()
    [label] = listed(at)
    assert label.startswith("★") and "Good question" in label
    assert at.radio(key="history-rows").options[0].startswith("★")  # the list's row too


def test_tags_are_saved_and_filter_the_list(app_db: Any) -> None:
    record_run(app_db, "Untagged question")
    run_id = record_run(app_db, "Tagged question")
    at = opened(run_id)
    at.multiselect(key=f"history-tags-{run_id}").set_value(["quarterly"]).run()
    assert app_db.get_run(run_id).tags == ("quarterly",)
    at.selectbox(key="history-tag").set_value("quarterly").run()
    [label] = listed(at)
    assert "Tagged question" in label
    assert "tags: quarterly" in at.radio(key="history-rows").proto.captions[0]


def test_follow_ups_of_one_conversation_are_one_row(app_db: Any) -> None:
    record_run(app_db, "A question on its own")
    for n in (1, 2, 3):
        last = record_run(app_db, f"Turn {n} of the talk", conversation_id="talk")
    at = open_app("pages/history.py")
    labels = listed(at)
    assert len(labels) == 2 and "3 questions · Turn 3 of the talk" in labels[0]
    at = at.selectbox(key="history-open").set_value(last).run()
    asked = [m.markdown[0].value for m in at.chat_message if m.name == "user"]
    assert asked == ["Turn 1 of the talk", "Turn 2 of the talk"]  # above the opened turn
    assert any(h.value == "Turn 3 of the talk" for h in at.subheader)


def test_a_conversation_resumes_on_ask_without_re_running(
    app_db: Any, standin_env: StandIn
) -> None:
    corpus = app_db.save_corpus("Notes", load_files([("n.txt", NOTES)]).documents)
    record_run(app_db, "What is the code?", answer="7431", corpus_id=corpus.id,
               conversation_id="talk")  # fmt: skip
    last = record_run(app_db, "Who said it?", answer="Nobody", corpus_id=corpus.id,
                      conversation_id="talk")  # fmt: skip
    at = opened(last)
    at.button(key="history-resume").click().run()
    at.switch_page("pages/ask.py").run()  # AppTest follows a script's switch_page this way
    text = markdown_text(at)
    assert "What is the code?" in text and "7431" in text and "Nobody" in text
    assert any("nothing was re-run" in i.value for i in at.info)
    assert "REPL starts fresh" in at.chat_input(key="ask-question").placeholder
    ws = at.session_state["rlm_workspace"]
    assert ws.corpus_id == corpus.id and ws.conversation == []
    standin_env.enqueue("FINAL(still 7431)")
    at.text_input(key="ask-root-model").set_value("root-model").run()
    at.chat_input(key="ask-question").set_value("And the code again?").run()
    [handle] = at.session_state["rlm_workspace"].conversation
    assert handle.wait(RUN_TIMEOUT_S)
    turns = app_db.conversation_runs("talk")
    assert [t.question for t in turns][-1] == "And the code again?"
    assert len(turns) == 3
