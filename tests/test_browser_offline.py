"""The app in Chromium fetches nothing from outside 127.0.0.1 (it must work offline), and fits
a laptop's 1280 px."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.fixtures.browser import AppServer, save_screenshot

pytestmark = pytest.mark.browser


def test_first_page_fetches_nothing_from_outside(chromium: Any, app_server: AppServer) -> None:
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(30_000)
    page = context.new_page()
    hosts: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: hosts.append(request.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto(app_server.url)
        page.get_by_role("heading", name="Ask").wait_for()
        page.locator('input[type="file"]').wait_for(state="attached")
        page.wait_for_timeout(1500)  # the favicon and late assets
        for name in ("History", "Settings"):
            page.get_by_role("link", name=name).first.click()
            page.get_by_role("heading", name=name).wait_for()
        page.wait_for_timeout(1000)
    finally:
        context.close()
    outside = [
        u
        for u in hosts
        if urlsplit(u).hostname not in ("127.0.0.1", None)
        and "://" in u
        and not u.startswith(("data:", "blob:"))
    ]
    assert outside == []
    assert [e for e in errors if "Failed to load" in e or "net::" in e] == []


CLIPPED = """els => els.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)"""


SLACK = """els => els.filter(e => {
    const range = document.createRange();
    range.selectNodeContents(e);
    return range.getBoundingClientRect().width > 0.85 * e.clientWidth;
}).map(e => e.textContent)"""


def record_long_run(server: AppServer) -> None:
    """A stopped run of 65 s at an unknown price, in the server's database."""
    import time as clock

    from rlm_engine.events import RootResponse, RunFinished, RunStarted, Usage
    from rlm_engine.paths import default_db_url
    from storage import Database

    db = Database.open(default_db_url())
    record = db.recorder()
    now = clock.time()
    config = {"root": {"provider": "openai", "model": "a-model-with-a-long-name-v2"},
              "sub": {"provider": "openai", "model": "another-long-sub-model-name"}}  # fmt: skip
    for event in (
        RunStarted(run_id="r1", time=now, question="What does the quarterly report say about "
                   "revenue, costs and the outlook for the next two years?", config=config,
                   context_meta={}),
        RootResponse(run_id="r1", time=now, iteration=1, text="Thinking.", model="m",
                     usage=Usage(12_000, 3_000), cost_usd=None, elapsed_s=65.0),
        RunFinished(run_id="r1", time=now + 65, status="cancelled", answer=None, error=None,
                    iterations=1, sub_calls=0, input_tokens=12_000, output_tokens=3_000,
                    cost_usd=None, elapsed_s=65.0),
    ):  # fmt: skip
        record(event)
    record.close()
    db.close()


def test_history_fits_a_laptop_screen(chromium: Any, app_server: AppServer) -> None:
    record_long_run(app_server)
    page = chromium.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(30_000)
    try:
        page.goto(app_server.url)
        page.get_by_role("heading", name="Ask").wait_for()
        page.get_by_role("link", name="History").first.click()
        page.get_by_placeholder("Choose a run to review its trace").wait_for()
        dates = page.locator(".st-key-history-dates [data-testid='stDateInputFieldsScroller']")
        assert dates.evaluate_all(CLIPPED) == [], "the Dates placeholder is clipped"
        row = page.locator(".st-key-history-rows [data-testid='stRadioGroup'] > div").first
        assert "the next two years?" in row.inner_text(), "the question cut short"
        models = row.get_by_text("another-long-sub-model-name", exact=False)
        box = models.bounding_box()
        assert box and box["x"] + box["width"] <= 1280, "Models pushed off screen"
        assert row.locator("p").evaluate_all(CLIPPED) == []  # both lines shown whole
        assert page.locator("[data-testid='stDataFrame']").count() == 0  # no canvas table
        save_screenshot(page, "history-list")
        row.click()  # a click on the row opens the run
        page.get_by_role("heading", name="What does the quarterly report say").wait_for()
        page.get_by_text("Sub-calls", exact=True).first.wait_for()
        page.wait_for_timeout(500)
        values = page.locator("[data-testid='stMetricValue'] div, [data-testid='stMetricValue']")
        assert values.evaluate_all(CLIPPED) == []  # "unknown", "1 min 05 s" shown whole
        # with room to spare: in an Ask chat message (an avatar beside it) the cells are narrower
        texts = page.locator("[data-testid='stMetricValue'] > div")
        assert texts.count() >= 5 and texts.evaluate_all(SLACK) == []
    finally:
        page.close()
