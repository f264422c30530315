"""The Ask page under AppTest: upload, run against the stand-in, live panels, answer, follow-up."""

from __future__ import annotations

import threading

import pytest
from streamlit.testing.v1 import AppTest

from rlm_engine.corpus import load_files
from rlm_engine.events import SubCallFinished
from rlm_engine.paths import default_db_url
from rlm_testkit.standin import StandIn
from storage import Database
from tests.apptest import RUN_TIMEOUT_S, markdown_text, open_app

ROOT = "root-model"
SUB = "sub-model"
NOTES = b"Meeting notes.\nThe launch code is 7431.\nNothing else happened.\n"


def repl(code: str) -> str:
    return f"I will look at the context.\n```repl\n{code}\n```"


def open_ask(root: str = ROOT, sub: str = SUB) -> AppTest:
    at = open_app()
    at.text_input(key="ask-root-model").set_value(root)
    at.text_input(key="ask-sub-model").set_value(sub)
    return at.run()


def upload(at: AppTest, *files: tuple[str, bytes, str]) -> AppTest:
    return at.file_uploader(key="ask-upload").set_value(list(files)).run()


def ask(at: AppTest, question: str) -> AppTest:
    return at.chat_input(key="ask-question").set_value(question).run()


def finish(at: AppTest) -> AppTest:
    """Wait for the session's run to end, then draw the page once more."""
    for handle in at.session_state["rlm_workspace"].conversation:
        assert handle.wait(RUN_TIMEOUT_S), "the run did not finish"
    return at.run()


def test_upload_shows_what_was_extracted(standin_env: StandIn) -> None:
    at = upload(open_ask(), ("notes.txt", NOTES, "text/plain"))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Documents"] == "1"
    assert metrics["Characters"] == f"{len(NOTES):,}"


def test_uploads_are_saved_into_a_new_corpus_by_default(standin_env: StandIn) -> None:
    at = upload(open_ask(), ("notes.txt", NOTES, "text/plain"))
    assert at.selectbox(key="ask-target").value == "A new corpus"  # not "Choose an option"


def test_bad_pdf_is_reported_and_the_good_file_still_loads(standin_env: StandIn) -> None:
    at = upload(
        open_ask(),
        ("notes.txt", NOTES, "text/plain"),
        ("broken.pdf", b"%PDF-1.4 not really", "application/pdf"),
    )
    assert any("broken.pdf" in e.value for e in at.error)
    assert {m.label: m.value for m in at.metric}["Documents"] == "1"
    assert not at.exception


def test_run_reaches_the_answer(standin_env: StandIn) -> None:
    standin_env.enqueue(repl("print(context[:60])"), "FINAL(7431)", model=ROOT)
    at = finish(ask(upload(open_ask(), ("notes.txt", NOTES, "text/plain")), "What is the code?"))
    assert "7431" in markdown_text(at)
    assert any(e.label.startswith("Iteration 1") for e in at.expander)
    assert not at.exception


def test_run_against_the_anthropic_api(standin_env: StandIn) -> None:
    standin_env.enqueue(repl("print(llm_query('Which code? ' + context[:60]))"), model="claude-r")
    standin_env.on(lambda request: "The code is 7431.", model="claude-s")
    standin_env.enqueue("FINAL(7431)", model="claude-r")
    at = open_app()
    for role, model in (("root", "claude-r"), ("sub", "claude-s")):
        at.selectbox(key=f"ask-{role}-provider").set_value("anthropic").run()
        at.text_input(key=f"ask-{role}-model").set_value(model)
    at = finish(ask(upload(at.run(), ("notes.txt", NOTES, "text/plain")), "What is the code?"))
    assert "7431" in markdown_text(at)
    assert "The code is 7431." in "\n".join(c.value for c in at.code)  # the sub-call's answer
    assert {(r.api, r.model) for r in standin_env.requests} == {
        ("anthropic", "claude-r"),
        ("anthropic", "claude-s"),
    }
    assert not at.exception


def test_iteration_panel_appears_while_the_run_goes_on(standin_env: StandIn) -> None:
    gate = threading.Event()
    standin_env.enqueue(repl("x = llm_query('Say hi')\nprint(x)"), model=ROOT)
    standin_env.on(lambda request: "hi", model=SUB)
    standin_env.on(lambda request: "FINAL(done)" if gate.wait(60) else None, model=ROOT)
    at = ask(upload(open_ask(), ("notes.txt", NOTES, "text/plain")), "Say hi")
    handle = at.session_state["rlm_workspace"].conversation[0]
    for _ in range(200):
        if any(e.label.startswith("Iteration 1") for e in at.expander):
            break
        handle.wait(0.1)
        at.run()
    assert any(e.label.startswith("Iteration 1") for e in at.expander)
    assert not handle.done
    assert at.button(key="ask-run-0-stop")
    gate.set()
    assert "done" in markdown_text(finish(at))


def test_follow_up_reuses_the_repl_variables(standin_env: StandIn) -> None:
    standin_env.enqueue(repl("secret = 7431\nprint('kept')"), "FINAL(stored)", model=ROOT)
    standin_env.enqueue(repl("print(secret + 1)"), "FINAL_VAR(secret)", model=ROOT)
    at = finish(ask(upload(open_ask(), ("notes.txt", NOTES, "text/plain")), "Remember it"))
    at = finish(ask(at, "What did you remember?"))
    outputs = [c.value for c in at.code]
    assert "7432" in "\n".join(outputs)


def test_stop_ends_the_run_as_cancelled(standin_env: StandIn) -> None:
    gate = threading.Event()
    standin_env.on(lambda request: repl("print(1)") if gate.wait(60) else None, model=ROOT)
    at = ask(upload(open_ask(), ("notes.txt", NOTES, "text/plain")), "Anything")
    at.button(key="ask-run-0-stop").click().run()
    gate.set()
    at = finish(at)
    assert at.session_state["rlm_workspace"].conversation[0].result.status == "cancelled"
    assert not at.error  # a stop is not a failure
    assert any("Stopped before an answer" in i.value for i in at.info)


@pytest.mark.parametrize(
    ("provider", "says"),
    [("openai", "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY"), ("local", "model pull")],
)
def test_a_provider_that_cannot_run_is_a_clear_error(provider: str, says: str) -> None:
    at = open_app()  # no key anywhere: the local model is the default
    at.selectbox(key="ask-root-provider").set_value(provider).run()
    at.selectbox(key="ask-sub-provider").set_value(provider).run()
    at = finish(ask(upload(at, ("notes.txt", NOTES, "text/plain")), "Anything"))
    assert says in "\n".join(e.value for e in at.error)
    assert not at.exception


def test_a_provider_that_is_down_is_a_clear_error(standin_env: StandIn) -> None:
    standin_env.fail(503, times=100)
    at = finish(ask(upload(open_ask(), ("notes.txt", NOTES, "text/plain")), "Anything"))
    assert at.error
    assert {m.label: m.value for m in at.metric}["Iterations"] == "0"  # no model ever answered
    assert not [e for e in at.expander if e.label.startswith("Iteration")]
    assert not at.exception


def test_the_run_survives_reruns_and_other_pages(standin_env: StandIn) -> None:
    gate = threading.Event()
    standin_env.on(lambda request: "FINAL(7431)" if gate.wait(60) else None, model=ROOT)
    at = ask(upload(open_ask(), ("notes.txt", NOTES, "text/plain")), "What is the code?")
    at.switch_page("pages/history.py").run()
    at.switch_page("pages/settings.py").run()
    gate.set()
    at = finish(at.switch_page("pages/ask.py"))
    assert "7431" in markdown_text(at)


def test_price_overrides_from_settings_price_the_run(standin_env: StandIn) -> None:
    standin_env.enqueue("FINAL(7431)", model=ROOT)
    at = upload(open_ask(), ("notes.txt", NOTES, "text/plain"))
    at.session_state["rlm_settings"].price_overrides = {ROOT: (1_000_000.0, 0.0)}
    at = finish(ask(at, "What is the code?"))
    result = at.session_state["rlm_workspace"].conversation[0].result
    assert result.cost_usd == result.input_tokens


def saved_corpus(name: str, *files: tuple[str, bytes]) -> int:
    with Database.open(default_db_url()) as db:
        return db.save_corpus(name, load_files(list(files)).documents).id


def test_a_saved_corpus_can_be_asked(standin_env: StandIn) -> None:
    corpus_id = saved_corpus("Codes", ("codes.txt", NOTES))
    standin_env.enqueue(repl("print('7431' in context[0])"), "FINAL(yes)", model=ROOT)
    at = open_ask()
    at.segmented_control(key="ask-source").set_value("Saved corpus").run()
    at.selectbox(key="ask-saved").set_value(corpus_id).run()
    at = finish(ask(at, "Is the code there?"))
    assert "True" in "\n".join(c.value for c in at.code)


def test_uploads_can_be_added_to_an_existing_corpus(standin_env: StandIn) -> None:
    corpus_id = saved_corpus("Codes", ("codes.txt", NOTES))
    standin_env.enqueue(repl("print(len(context))"), "FINAL(two)", model=ROOT)
    at = upload(open_ask(), ("more.txt", b"Another code: 1111.", "text/plain"))
    at = finish(ask(at.selectbox(key="ask-target").set_value(corpus_id).run(), "How many?"))
    assert "2" in [c.value.strip() for c in at.code]
    with Database.open(default_db_url()) as db:
        assert db.get_corpus(corpus_id).n_documents == 2


def test_model_choices_survive_a_visit_to_another_page() -> None:
    at = open_ask(root="my-root-model")
    at.switch_page("pages/history.py").run()
    at.switch_page("pages/ask.py").run()
    assert at.text_input(key="ask-root-model").value == "my-root-model"


def test_the_offline_default_says_how_to_get_its_model() -> None:
    at = open_app()  # no key anywhere
    assert at.selectbox(key="ask-root-provider").value == "local"
    assert any("model pull" in c.value for c in at.caption)


def test_the_sub_call_cache_setting_answers_a_repeated_sub_call_from_the_database(
    standin_env: StandIn,
) -> None:
    at = open_app("pages/settings.py")
    at.toggle(key="settings-sub-call-cache").set_value(True).run()
    at.switch_page("pages/ask.py").run()
    at.text_input(key="ask-root-model").set_value(ROOT)
    at.text_input(key="ask-sub-model").set_value(SUB).run()
    at = upload(at, ("notes.txt", NOTES, "text/plain"))
    standin_env.on(lambda request: "7431", model=SUB)
    code = repl("print(llm_query('Which code? ' + context[0]))")
    for question in ("What is the code?", "What is the code, again?"):
        standin_env.enqueue(code, "FINAL(7431)", model=ROOT)
        at = finish(ask(at, question))
    assert sum(r.model == SUB for r in standin_env.requests) == 1
    second = at.session_state["rlm_workspace"].conversation[1].events()
    (finished,) = [e for e in second if isinstance(e, SubCallFinished)]
    assert finished.cached is True and finished.cost_usd == 0
