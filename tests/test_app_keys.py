"""A visitor's base URL never receives the server's key: real HTTP to two stand-ins.

The environment points both providers at stand-in `server` with a planted key; the visitor types
the address of stand-in `elsewhere` (theirs). Whatever the visitor does, `elsewhere` must never
see the planted key in any header or body.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from rlm_testkit.standin import Request, StandIn
from tests.apptest import RUN_TIMEOUT_S, markdown_text, open_app

PLANTED = "sk-planted-server-key-0451"
NOTES = b"Meeting notes.\nThe launch code is 7431.\n"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    """The operator's endpoint, configured with its key in the environment."""
    with StandIn() as stand_in:
        monkeypatch.setenv("OPENAI_BASE_URL", stand_in.openai_base_url)
        monkeypatch.setenv("OPENAI_API_KEY", PLANTED)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", stand_in.anthropic_base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", PLANTED)
        yield stand_in


@pytest.fixture
def elsewhere() -> Iterator[StandIn]:
    """An address a visitor types: it records every header it is sent."""
    with StandIn() as stand_in:
        yield stand_in


def leaked(requests: list[Request]) -> list[str]:
    """Every place the planted key turned up in these requests (headers or body)."""
    found = []
    for request in requests:
        found += [f"header {k}" for k, v in request.headers.items() if PLANTED in v]
        if PLANTED in repr(request.body):
            found.append("body")
    return found


def save_settings(at: AppTest, **values: str) -> AppTest:
    at.switch_page("pages/settings.py").run()
    for name, value in values.items():
        at.text_input(key=f"settings-{name}").set_value(value)
    next(b for b in at.button if b.label == "Use for this session").click()
    return at.run()


def run_question(at: AppTest, root: tuple[str, str], sub: tuple[str, str]) -> AppTest:
    """Ask one question on the Ask page with these (provider, model) choices; wait for the end."""
    at.switch_page("pages/ask.py").run()
    for role, (provider, model) in (("root", root), ("sub", sub)):
        at.selectbox(key=f"ask-{role}-provider").set_value(provider).run()
        at.text_input(key=f"ask-{role}-model").set_value(model)
    at.run()
    at.file_uploader(key="ask-upload").set_value([("notes.txt", NOTES, "text/plain")]).run()
    at.chat_input(key="ask-question").set_value("What is the code?").run()
    for handle in at.session_state["rlm_workspace"].conversation:
        assert handle.wait(RUN_TIMEOUT_S), "the run did not finish"
    return at.run()


def script(stand_in: StandIn, root: str, sub: str) -> None:
    stand_in.enqueue("```repl\nprint(llm_query('code? ' + context[:40]))\n```", model=root)
    stand_in.enqueue("FINAL(7431)", model=root)
    stand_in.on(lambda request: "7431", model=sub)


def test_a_typed_base_url_without_a_typed_key_is_refused(server: StandIn, elsewhere: StandIn):
    at = save_settings(open_app(), openai_base_url=elsewhere.openai_base_url)
    assert any("Type a key for the base URL of OpenAI" in e.value for e in at.error)
    assert at.session_state["rlm_settings"].base_urls.get("openai", "") == ""  # nothing was changed
    assert "needs a key typed with it" in markdown_text(at) + "".join(c.value for c in at.caption)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_the_server_key_never_goes_to_a_typed_base_url(
    server: StandIn, elsewhere: StandIn, provider: str
) -> None:
    """Even with a typed URL and no typed key in the session (the form refuses that; an old
    session or a future page might not), the planted key stays with the server's endpoint."""
    at = open_app()
    typed_url = getattr(elsewhere, f"{provider}_base_url")
    at.session_state["rlm_settings"].base_urls[provider] = typed_url
    script(elsewhere, "root-x", "sub-x")
    at = run_question(at, (provider, "root-x"), (provider, "sub-x"))
    assert elsewhere.requests, "the run never reached the typed base URL"
    assert leaked(elsewhere.requests) == []
    assert not server.requests


def test_typed_url_and_key_go_together_and_the_server_keeps_its_own(
    server: StandIn, elsewhere: StandIn
) -> None:
    """Root on the server's Anthropic endpoint (the env key), sub on the visitor's OpenAI URL
    with the visitor's key: each endpoint gets its own key only."""
    at = save_settings(
        open_app(), openai_base_url=elsewhere.openai_base_url, openai_api_key="sk-visitor"
    )
    assert not at.error
    server.enqueue("```repl\nprint(llm_query('code? ' + context[:40]))\n```", model="claude-r")
    server.enqueue("FINAL(7431)", model="claude-r")
    elsewhere.on(lambda request: "7431", model="gpt-s")
    at = run_question(at, ("anthropic", "claude-r"), ("openai", "gpt-s"))
    assert "7431" in markdown_text(at)
    assert {r.api_key for r in elsewhere.requests} == {"sk-visitor"}
    assert leaked(elsewhere.requests) == []
    assert {r.api_key for r in server.requests} == {PLANTED}
