"""Sources in a real Chromium: the answer's numbered sources, a PDF source opened in place as its
page image with the passage highlighted, and the trace's passages."""

from __future__ import annotations

import io
from typing import Any

import pytest

from rlm_testkit.pdf import make_pdf
from tests.fixtures.browser import AppServer, save_screenshot
from tests.test_browser_app import ROOT, ask, choose, go_to, keyed, settled, upload_pdf

pytestmark = pytest.mark.browser

FACT = "Revenue grew to 7431 thousand euros."


def highlighted_pixels(png: bytes) -> int:
    """Pixels of the highlight's yellow (the page itself is black on white)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    return sum(1 for r, g, b in image.getdata() if r > 200 and 150 < g < 240 and b < 140)


def test_a_pdf_source_opens_on_its_page_highlighted(app_page: Any, app_server: AppServer) -> None:
    assert make_pdf(["Quarterly report.", FACT])  # the PDF upload_pdf sends
    app_server.standin.enqueue(
        "Searching.\n```repl\nd = context\ni = d.index('Revenue')\nprint(d[i - 10 : i + 60])\n```",
        "FINAL(7431 thousand euros [1])",
        model=ROOT,
    )
    upload_pdf(app_page)
    app_page.get_by_text("Models and budgets").click()
    app_page.locator("[data-testid='stButtonGroup']").get_by_text("RLM", exact=True).click()
    settled(app_page)
    ask(app_page, "What was the revenue?")
    sources = keyed(app_page, "ask-run-0-sources")
    # a loaded machine (parallel runs) takes its time to start the sandbox and the SDK
    sources.get_by_text("report.pdf, page 2").wait_for(timeout=180_000)
    assert sources.locator("mark").first.inner_text() == "7431"
    # the trace lists what the REPL output held
    app_page.get_by_text("Iteration 1 · ").first.click()
    app_page.get_by_text("Corpus passages in this output: report.pdf, page 2").wait_for()

    settled(app_page)
    sources.get_by_text("Open").click()
    image = sources.locator("img").first
    image.wait_for()
    sources.get_by_text("report.pdf, page 2: the passage highlighted").wait_for()
    png = app_page.request.get(image.get_attribute("src")).body()
    assert highlighted_pixels(png) > 500
    save_screenshot(app_page, "ask-sources")

    go_to(app_page, "History")
    choose(app_page, "Open a run", "What was the revenue?")
    reopened = app_page.locator("[class*='-sources']")
    reopened.get_by_text("report.pdf, page 2").first.wait_for()
    assert reopened.locator("mark").first.inner_text() == "7431"
