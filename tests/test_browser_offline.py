"""The app in Chromium fetches nothing from outside 127.0.0.1 (it must work offline), and fits
a laptop's 1280 px."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.fixtures.browser import AppServer

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
        u for u in hosts if urlsplit(u).hostname not in ("127.0.0.1", None) and "://" in u
        and not u.startswith(("data:", "blob:"))
    ]
    assert outside == []
    assert [e for e in errors if "Failed to load" in e or "net::" in e] == []
