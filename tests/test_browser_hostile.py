"""Model text can make the browser load nothing: real Chromium, every request recorded.

The stand-in's replies (reasoning, REPL output, a sub-call's prompt and response, an error, the
answers) carry Markdown images, HTML images, iframes, styles, scripts, reference links and a
diagram, all pointing at a local recording server. The app is driven through Ask, History and
Compare, every panel opened; neither the browser's own request log nor the recording server may
see a single request for it, during the run or after.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import pytest

from tests.fixtures.browser import AppServer
from tests.test_browser_app import (
    ROOT,
    SUB,
    ask,
    choose,
    go_to,
    keyed,
    settled,
    upload_pdf,
    use_rlm,
)

pytestmark = pytest.mark.browser
RUN_WAIT_MS = 120_000  # a run on a busy machine: a sandbox to start, three model calls


class Recorder:
    """An HTTP server on 127.0.0.1 that answers everything and remembers every path asked."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                recorder.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_HEAD = _any

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    try:
        yield server
    finally:
        server.close()


def payload(leak: str, where: str) -> str:
    """One line of everything that would make a browser fetch `leak` if drawn as markup."""
    url = f"{leak}/leak?{where}"
    return (
        f'![x]({url}-md) <img src="{url}-img"> <iframe src="{url}-iframe"></iframe> '
        f'<link rel="stylesheet" href="{url}-css"> <style>@import url({url}-import);</style> '
        f"<script>fetch('{url}-script')</script> <video poster=\"{url}-poster\"></video> "
        f"[hidden link]({url}-link) <{url}-autolink>"
    )


def reasoning(leak: str) -> str:
    """A root reply's prose: the payload, a reference-style image and a diagram with images."""
    return (
        f"Let me look. {payload(leak, 'reasoning')}\n\n![ref image][r]\n\n[r]: {leak}/leak?ref\n\n"
        f"```mermaid\ngraph TD\n  A[\"<img src='{leak}/leak?mermaid'/>\"]\n```\n"
    )


def in_repl(code: str) -> str:
    return f"```repl\n{code}\n```"


def requests_to(seen: list[str], recorder: Recorder) -> list[str]:
    return [url for url in seen if url.startswith(recorder.url)] + recorder.paths


def open_every_panel(page: Any) -> None:
    """Expand every collapsed expander on the page (what a curious user would do)."""
    settled(page)
    for summary in page.locator("[data-testid='stExpander'] summary").all():
        if summary.is_visible() and summary.get_attribute("aria-expanded") != "true":
            summary.click()
    page.wait_for_timeout(1500)  # whatever the browser would fetch, it has asked for by now


def nothing_fetched(page: Any, recorder: Recorder, seen: list[str]) -> None:
    """No request reached the recording server, and a link to it may exist only with its
    address as its visible text (opened on a click, never followed on its own)."""
    open_every_panel(page)
    assert requests_to(seen, recorder) == []
    for link in page.locator(f"a[href^='{recorder.url}']").all():
        href = unquote(link.get_attribute("href") or "")
        assert href in (link.text_content() or "").replace("\u200b", ""), f"hidden address {href}"


@pytest.fixture
def seen(app_page: Any) -> list[str]:
    """Every URL the browser requests from now on (pages, frames, workers)."""
    urls: list[str] = []
    app_page.context.on("request", lambda request: urls.append(request.url))
    return urls


def test_model_text_in_ask_and_history_fetches_nothing(
    app_page: Any, app_server: AppServer, recorder: Recorder, seen: list[str]
) -> None:
    leak = recorder.url
    standin = app_server.standin
    standin.enqueue(
        reasoning(leak)
        + in_repl(
            f"print({payload(leak, 'output')!r})\n"
            f"print(llm_query({payload(leak, 'prompt')!r}))\n"
            f"raise ValueError({payload(leak, 'error')!r})"
        ),
        in_repl(f"FINAL({'The revenue was 7431. ' + payload(leak, 'answer')!r})"),
        in_repl(f"FINAL({payload(leak, 'answer-first')!r})"),  # an answer starting with `<`
        model=ROOT,
    )
    standin.on(lambda request: payload(leak, "response"), model=SUB)
    upload_pdf(app_page)
    use_rlm(app_page)
    ask(app_page, "What was the revenue?")
    answer = keyed(app_page, "ask-run-0-answer")
    answer.get_by_text("The revenue was 7431.", exact=False).wait_for(timeout=RUN_WAIT_MS)
    assert "leak?answer-img" in answer.inner_text()  # drawn, as text
    nothing_fetched(app_page, recorder, seen)
    panel = app_page.locator("[data-testid='stExpander']").filter(has_text="Iteration 1").first
    assert "leak?reasoning-iframe" in panel.inner_text()  # the reasoning, drawn as text
    box = app_page.get_by_placeholder("Ask a follow-up (the REPL keeps its variables)")
    box.fill("And again?")
    box.press("Enter")
    second = keyed(app_page, "ask-run-1-answer")
    second.get_by_text("leak?answer-first-img", exact=False).wait_for(timeout=RUN_WAIT_MS)
    nothing_fetched(app_page, recorder, seen)

    go_to(app_page, "History")
    # the two questions are one conversation: its row is the newest run, the first shown above
    choose(app_page, "Open a run", "2 questions · And again?")
    stored = app_page.locator("[class*='-answer']")
    stored.get_by_text("leak?answer-first-img", exact=False).wait_for()
    app_page.get_by_text("The revenue was 7431.", exact=False).first.wait_for()
    nothing_fetched(app_page, recorder, seen)

    go_to(app_page, "Compare")
    app_page.get_by_role("tab", name="Runs from History").click()
    picker = app_page.get_by_label("Runs to compare (2 to 4)")
    for question in ("What was the revenue?", "And again?"):
        picker.click()
        app_page.get_by_role("option").filter(has_text=question).first.click()
        settled(app_page)
    app_page.get_by_text("Differences between answers").wait_for()
    app_page.locator(".rlm-diff").get_by_text("leak?answer-img", exact=False).first.wait_for()
    nothing_fetched(app_page, recorder, seen)
    app_page.wait_for_timeout(3000)  # and after: nothing arrives late
    assert requests_to(seen, recorder) == []
