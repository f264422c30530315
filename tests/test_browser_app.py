"""End to end in a real Chromium against `streamlit run app.py`, models played by the stand-in.

Screenshots of the main pages land in artifacts/screenshots/ (git-ignored) as test artifacts.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from rlm_engine.corpus import load_files
from rlm_engine.defaults import SUGGESTED_MODELS
from rlm_engine.paths import default_db_url
from storage import Database
from tests.data.make_pdf import make_pdf
from tests.fixtures.browser import AppServer, save_screenshot

pytestmark = pytest.mark.browser

ROOT, SUB = SUGGESTED_MODELS["openai"]
PDF = make_pdf(["Quarterly report.", "Revenue grew to 7431 thousand euros."])


def repl(code: str) -> str:
    return f"Let me search the report.\n```repl\n{code}\n```"


def upload_pdf(page: Any) -> None:
    page.locator('input[type="file"]').set_input_files(
        files=[{"name": "report.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.get_by_text("Tokens (estimate)", exact=True).wait_for()


def ask(page: Any, question: str) -> None:
    box = page.get_by_placeholder("Ask a question about these documents")
    box.fill(question)
    box.press("Enter")


def keyed(page: Any, key: str) -> Any:
    """The element drawn with Streamlit key `key`."""
    return page.locator(f".st-key-{key}")


def go_to(page: Any, title: str) -> None:
    page.get_by_role("link", name=title).click()
    page.get_by_role("heading", name=title).wait_for()


def choose(page: Any, label: str, option: str) -> None:
    """Pick `option` (a substring of its text) in the selectbox labelled `label`."""
    page.get_by_label(label).click()
    page.get_by_role("option").filter(has_text=option).first.click()


def test_ask_shows_live_panels_then_the_answer(app_page: Any, app_server: AppServer) -> None:
    gate = threading.Event()
    app_server.standin.enqueue(repl("hit = llm_query(context[-200:])\nprint(hit)"), model=ROOT)
    app_server.standin.on(lambda request: "Revenue: 7431", model=SUB)
    app_server.standin.on(
        lambda request: "FINAL(7431 thousand euros)" if gate.wait(60) else None, model=ROOT
    )
    upload_pdf(app_page)
    ask(app_page, "What was the revenue?")
    app_page.get_by_text("Iteration 1 · ").first.wait_for()
    app_page.locator("[data-testid='stCode'] code").get_by_text("llm_query").wait_for()
    assert app_page.get_by_role("button", name="Stop").is_visible()
    save_screenshot(app_page, "ask-running")
    gate.set()
    keyed(app_page, "ask-run-0-answer").get_by_text("7431 thousand euros").wait_for()
    save_screenshot(app_page, "ask-answer")


def test_the_run_goes_on_while_the_user_visits_history(
    app_page: Any, app_server: AppServer
) -> None:
    gate = threading.Event()
    app_server.standin.on(
        lambda request: "FINAL(7431 thousand euros)" if gate.wait(60) else None, model=ROOT
    )
    upload_pdf(app_page)
    ask(app_page, "What was the revenue?")
    app_page.get_by_role("button", name="Stop").wait_for()
    go_to(app_page, "History")
    choose(app_page, "Open a run", "running")
    gate.set()
    app_page.locator("[class*='-answer']").get_by_text("7431 thousand euros").wait_for()
    go_to(app_page, "Ask")
    keyed(app_page, "ask-run-0-answer").get_by_text("7431 thousand euros").wait_for()


def test_a_finished_run_is_found_in_history(app_page: Any, app_server: AppServer) -> None:
    app_server.standin.enqueue("FINAL(7431 thousand euros)", model=ROOT)
    upload_pdf(app_page)
    ask(app_page, "What was the revenue?")
    keyed(app_page, "ask-run-0-answer").wait_for()
    go_to(app_page, "History")
    choose(app_page, "Open a run", "What was the revenue?")
    app_page.locator("[class*='-answer']").get_by_text("7431 thousand euros").wait_for()
    save_screenshot(app_page, "history")


def test_a_comparison_of_two_configurations(app_page: Any, app_server: AppServer) -> None:
    with Database.open(default_db_url()) as db:
        db.save_corpus("Report", load_files([("report.pdf", PDF)]).documents)
    app_server.standin.enqueue("FINAL(7431 thousand euros)", model="model-a")
    app_server.standin.enqueue("FINAL(about 7.4 million euros)", model="model-b")
    go_to(app_page, "Compare")
    for position, model in enumerate(["model-a", "model-b"]):
        field = app_page.get_by_label("Root model").nth(position)
        field.fill(model)
        field.press("Enter")
    app_page.get_by_label("Question").fill("What was the revenue?")
    app_page.get_by_role("button", name="Run comparison").click()
    keyed(app_page, "cmp-live-0-answer").get_by_text("7431 thousand euros").wait_for()
    keyed(app_page, "cmp-live-1-answer").get_by_text("about 7.4 million euros").wait_for()
    app_page.get_by_text("Differences between answers").wait_for()
    app_page.locator("[data-testid='stVegaLiteChart']").first.wait_for()  # time (no prices)
    save_screenshot(app_page, "compare")


def test_corpora_page_shows_a_saved_corpus(app_page: Any) -> None:
    with Database.open(default_db_url()) as db:
        db.save_corpus("Report", load_files([("report.pdf", PDF), ("notes.txt", b"hi")]).documents)
    go_to(app_page, "Corpora")
    choose(app_page, "Open a corpus", "Report")
    app_page.get_by_role("heading", name="Report").wait_for()
    app_page.get_by_text("Tokens (estimate)", exact=True).wait_for()
    save_screenshot(app_page, "corpora")


def test_settings_page_shows_the_offline_model_and_storage(app_page: Any) -> None:
    go_to(app_page, "Settings")
    app_page.get_by_text("is not downloaded").wait_for()
    app_page.get_by_text("Data directory:").wait_for()
    save_screenshot(app_page, "settings")
