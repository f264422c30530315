"""End to end in a real Chromium against `streamlit run app.py`, models played by the stand-in.

Screenshots of the main pages land in artifacts/screenshots/ (git-ignored) as test artifacts.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from playwright.sync_api import expect

from rlm_engine.corpus import load_files
from rlm_engine.paths import default_db_url
from rlm_engine.providers.registry import PROVIDERS
from rlm_testkit.pdf import make_pdf
from rlm_testkit.standin import Reply
from storage import Database
from tests.fixtures.browser import AppServer, save_screenshot

pytestmark = pytest.mark.browser

ROOT, SUB = PROVIDERS["openai"].root_model, PROVIDERS["openai"].sub_model
PDF = make_pdf(["Quarterly report.", "Revenue grew to 7431 thousand euros."])


def repl(code: str) -> str:
    return f"Let me search the report.\n```repl\n{code}\n```"


def upload_pdf(page: Any) -> None:
    page.locator('input[type="file"]').set_input_files(
        files=[{"name": "report.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.get_by_text("Tokens (estimate)", exact=True).first.wait_for()


def use_rlm(page: Any) -> None:
    """Choose the RLM method: Auto reads a small corpus directly, in one call, no iterations."""
    page.get_by_text("Models and budgets").click()
    page.get_by_role("radio", name="RLM", exact=True).click()
    settled(page)


def ask(page: Any, question: str) -> None:
    box = page.get_by_placeholder("Ask a question about these documents")
    box.fill(question)
    box.press("Enter")


def keyed(page: Any, key: str) -> Any:
    """The element drawn with Streamlit key `key`."""
    return page.locator(f".st-key-{key}")


def settled(page: Any) -> None:
    """Wait until the app's script run is over: a widget redrawn by a run still going may drop
    what is typed into it, or take it for the widget beside it."""
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for()


def type_into(page: Any, key: str, text: str) -> None:
    """Type `text` into the text field drawn with key `key`, apply it (Enter) and wait until the
    field shows it applied ("Press Enter to apply" gone)."""
    settled(page)
    field = keyed(page, key)
    field.locator("input").fill(text)
    field.locator("input").press("Enter")
    expect(field.get_by_test_id("InputInstructions")).to_have_text("")
    expect(field.locator("input")).to_have_value(text)
    settled(page)


def go_to(page: Any, title: str) -> None:
    page.get_by_role("link", name=title).click()
    page.get_by_role("heading", name=title).wait_for()
    settled(page)


def choose(page: Any, label: str, option: str) -> None:
    """Pick `option` (a substring of its text) in the selectbox labelled `label`."""
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option").filter(has_text=option).first.click()


def test_ask_shows_live_panels_then_the_answer(app_page: Any, app_server: AppServer) -> None:
    gate = threading.Event()
    app_server.standin.enqueue(repl("hit = llm_query(context[-200:])\nprint(hit)"), model=ROOT)
    app_server.standin.on(lambda request: "Revenue: 7431", model=SUB)
    app_server.standin.on(
        lambda request: "FINAL(7431 thousand euros)" if gate.wait(60) else None, model=ROOT
    )
    upload_pdf(app_page)
    use_rlm(app_page)
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
    app_page.get_by_text("Waiting for the root model").wait_for()  # started: saved in History
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


def new_corpus_from(page: Any, name: str, files: list[dict[str, Any]]) -> None:
    """Make a corpus on the Corpora page's uploader; it opens once saved."""
    go_to(page, "Corpora")
    page.locator('input[type="file"]').set_input_files(files=files)
    page.get_by_text("Tokens (estimate)", exact=True).wait_for()
    page.get_by_label("Name of the new corpus").fill(name)
    page.get_by_role("button", name="Save as a new corpus").click()
    page.get_by_role("heading", name=name).wait_for()


def test_a_comparison_of_three_configurations_reopens(app_page: Any, app_server: AppServer) -> None:
    pdf = {"name": "report.pdf", "mimeType": "application/pdf", "buffer": PDF}
    new_corpus_from(app_page, "Report", [pdf])
    answers = {"model-a": "7431 thousand euros", "model-b": "about 7.4 million euros",
               "model-c": "**7431** thousand"}  # fmt: skip
    for model, answer in answers.items():
        app_server.standin.enqueue(f"FINAL({answer})", model=model)
    go_to(app_page, "Compare")
    app_page.get_by_role("radio", name="3", exact=True).click()
    app_page.get_by_label("Root model").nth(2).wait_for()
    settled(app_page)
    keys = [f"cmp-{n}-root-model" for n in range(3)]
    for key, model in zip(keys, answers, strict=True):
        type_into(app_page, key, model)
    for key, model in zip(keys, answers, strict=True):  # none lost to a later field's redraw
        expect(keyed(app_page, key).locator("input")).to_have_value(model)
    question = app_page.get_by_label("Question")
    question.fill("What was the revenue?")
    question.press("Control+Enter")  # the form's shortcut runs the comparison
    for position, answer in enumerate(["7431 thousand euros", "about 7.4 million euros"]):
        keyed(app_page, f"cmp-live-{position}-answer").get_by_text(answer).wait_for()
    app_page.get_by_text("Differences between answers").wait_for()
    app_page.locator("[data-testid='stVegaLiteChart']").first.wait_for()  # time (no prices)
    save_screenshot(app_page, "compare")

    app_page.get_by_role("tab", name="Saved comparisons").click()
    choose(app_page, "Comparison", "What was the revenue?")
    for position, answer in enumerate(["7431 thousand euros", "about 7.4 million euros"]):
        saved = app_page.locator(f"[class*='st-key-cmp-saved-'][class*='-{position}-answer']")
        saved.get_by_text(answer).wait_for()  # the columns in the order they ran
    app_page.get_by_role("tab", name="#3 · openai:model-c").wait_for(timeout=120_000)
    save_screenshot(app_page, "compare-saved")


def price_cell(page: Any, column_x: int, text: str) -> None:
    """Type `text` into the first row of the price table, at `column_x` px from its left edge
    (its columns have fixed widths: row marker 33, model 260, prices 160 each)."""
    grid = page.locator("[data-testid='stDataFrame']")
    box = grid.bounding_box()
    page.mouse.dblclick(box["x"] + column_x, box["y"] + 36 + 17)
    editor = page.locator("#portal").locator("input, textarea")
    editor.fill(text)
    editor.press("Enter")
    editor.wait_for(state="detached")
    grid.locator("table td").filter(has_text=text).wait_for(state="attached")


def test_a_price_typed_in_settings_survives_other_pages_and_prices_the_run(
    app_page: Any, app_server: AppServer
) -> None:
    app_server.standin.enqueue("FINAL(7431 thousand euros)", model="house-model")
    go_to(app_page, "Settings")
    grid = app_page.locator("[data-testid='stDataFrame']")
    grid.evaluate("e => e.scrollIntoView({block: 'center'})")  # wholly in view, toolbar too
    grid.hover()
    # The toolbar shows on hover and the grid may still settle under it: a pointer click at its
    # place can land on the grid, so the click goes to the button itself.
    app_page.get_by_role("button", name="Add row").dispatch_event("click")
    price_cell(app_page, 33 + 130, "house-model")
    price_cell(app_page, 33 + 260 + 80, "1000000")  # $1 a token: any run costs dollars
    price_cell(app_page, 33 + 420 + 80, "2000000")
    go_to(app_page, "Ask")
    upload_pdf(app_page)
    app_page.get_by_text("Models and budgets").click()
    field = app_page.get_by_label("Root model")
    field.fill("house-model")
    field.press("Enter")
    app_page.get_by_text("openai:house-model").first.wait_for()  # the caption under the models
    ask(app_page, "What was the revenue?")
    keyed(app_page, "ask-run-0-answer").wait_for()
    cost = app_page.get_by_test_id("stMetric").filter(has_text="Cost")
    assert re.fullmatch(r"\$[\d,.]+", cost.get_by_test_id("stMetricValue").inner_text().strip())
    go_to(app_page, "Settings")
    cells = grid.locator("table td")
    cells.filter(has_text="house-model").wait_for(state="attached")
    assert cells.all_inner_texts()[:3] == ["house-model", "1000000", "2000000"]


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


def test_the_root_reply_streams_into_the_live_panel(app_page: Any, app_server: AppServer) -> None:
    gate = threading.Event()
    reply = "I will read the report's revenue line before answering.\nFINAL(7431 thousand euros)"
    app_server.standin.enqueue(Reply(reply, stream_gate=gate, gate_at=40), model=ROOT)
    upload_pdf(app_page)
    ask(app_page, "What was the revenue?")
    streaming = keyed(app_page, "ask-run-0-streaming")
    # the first 40 characters (the first root call may take long on a loaded machine)
    streaming.get_by_text("I will read the report").wait_for(timeout=120_000)
    assert "7431" not in streaming.inner_text()  # the rest has not come yet
    save_screenshot(app_page, "ask-streaming")
    gate.set()
    keyed(app_page, "ask-run-0-answer").get_by_text("7431 thousand euros").wait_for()
    assert not streaming.is_visible()
