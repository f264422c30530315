"""The Evaluate page in a real Chromium: generate a built-in suite, run it under two
configurations (the stand-in's "right" model answers every question, "wrong" none), read the
results, open a cell's trace. Screenshots: artifacts/screenshots/evaluate*.png."""

from __future__ import annotations

import re
from typing import Any

import pytest

from rlm_engine.paths import default_db_url
from rlm_eval.suite import make_suite
from storage import Database
from tests.fixtures.browser import AppServer, save_screenshot
from tests.test_browser_app import go_to, keyed, settled

pytestmark = pytest.mark.browser

SUITE = make_suite("needle", 8000, 0, 3)  # what the page generates with these settings
ANSWERS = {q.question: q.expected for q in SUITE.questions}


def _answer(request: Any) -> str | None:
    first = request.messages[0]["content"]
    found = next((a for q, a in ANSWERS.items() if q in first), None)
    return None if found is None else f'FINAL("The code is {found}.")'


def test_evaluate_generates_runs_and_shows_the_matrix(app_page: Any, app_server: AppServer):
    app_server.standin.on(_answer, model="right")
    app_server.standin.on(lambda r: 'FINAL("No idea.")', model="wrong")
    go_to(app_page, "Evaluate")
    keyed(app_page, "ev-size").locator("input").fill("8000")
    keyed(app_page, "ev-n").locator("input").fill("3")
    keyed(app_page, "ev-n").locator("input").press("Tab")
    settled(app_page)
    app_page.get_by_role("button", name="Generate").click()
    app_page.get_by_text("Questions of needle 8,000 chars, seed 0").first.wait_for()
    settled(app_page)
    for position, model in enumerate(["right", "wrong"]):
        field = keyed(app_page, f"ev-{position}-root-model").locator("input")
        field.fill(model)
        field.press("Tab")
        settled(app_page)
    app_page.get_by_role("button", name="Run evaluation").click()
    app_page.get_by_text(re.compile(r"needle 8,000 chars, seed 0 · completed")).wait_for(
        timeout=120_000
    )
    settled(app_page)
    with Database.open(default_db_url()) as db:
        (info,) = db.evals.list()
        cells = db.evals.get(info.id).cells
    by_config = {c["name"]: [x.passed for x in cells if x.config_name == c["name"]]
                 for c in info.configs}  # fmt: skip
    right = next(name for name in by_config if name.startswith("right"))
    wrong = next(name for name in by_config if name.startswith("wrong"))
    assert by_config[right] == [True] * 3 and by_config[wrong] == [False] * 3
    assert app_page.locator("[data-testid='stVegaLiteChart']").count() == 1  # the matrix
    app_page.get_by_text("Not on the chart (a price is unknown)").wait_for()  # never shown as $0
    app_page.get_by_text("Only where configurations disagree").click()
    settled(app_page)
    save_screenshot(app_page, "evaluate")
    # a click on the matrix opens that cell: the top row, in the first configuration's column
    heat = app_page.locator("[data-testid='stVegaLiteChart']").first
    heat.locator("canvas, svg").first.wait_for()
    heat.scroll_into_view_if_needed()
    box = heat.bounding_box()
    app_page.mouse.click(box["x"] + 70 + (box["width"] - 160) / 4, box["y"] + 10)
    settled(app_page)
    app_page.get_by_text(f"Answer: The code is {SUITE.questions[0].expected}.").wait_for()
    # and the picker opens any other
    picker = app_page.get_by_label("Open a cell's trace (or click it in the matrix)", exact=True)
    picker.click()
    app_page.keyboard.type(f"{SUITE.questions[1].id} × right")
    app_page.keyboard.press("Enter")
    settled(app_page)
    app_page.get_by_text(f"Answer: The code is {SUITE.questions[1].expected}.").wait_for()
    app_page.locator("[class*='-answer']").first.wait_for()  # the run's trace, as in History
    app_page.get_by_role("button", name="Export CSV").wait_for()
    app_page.get_by_role("tab", name="Evaluations").click()
    picker = keyed(app_page, f"ev-pick-{info.id}")
    picker.wait_for()
    assert "completed · 6/6 cells" in picker.inner_html()
    save_screenshot(app_page, "evaluate-trace")
