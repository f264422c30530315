"""The stand-in itself, driven through the official SDKs with their own retries off."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import anthropic
import openai
import pytest

from rlm_testkit.standin import Reply, Request, StandIn, estimate_tokens


def openai_client(s: StandIn, key: str = "test-key") -> openai.OpenAI:
    return openai.OpenAI(base_url=s.openai_base_url, api_key=key, max_retries=0, timeout=10)


def anthropic_client(s: StandIn, key: str = "test-key") -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=s.anthropic_base_url, api_key=key, max_retries=0, timeout=10
    )


def ask_openai(s: StandIn, prompt: str = "hi", model: str = "gpt-4o-mini", **kw) -> str:
    messages = [{"role": "user", "content": prompt}]
    response = openai_client(s).chat.completions.create(model=model, messages=messages, **kw)
    return response.choices[0].message.content


def test_openai_reply_with_usage(standin: StandIn) -> None:
    standin.enqueue(Reply("hello", input_tokens=7, output_tokens=3))
    response = openai_client(standin).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert response.choices[0].message.content == "hello"
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (7, 3)
    assert response.model == "gpt-4o-mini"


def test_anthropic_reply_with_usage(standin: StandIn) -> None:
    standin.enqueue("hello there")
    response = anthropic_client(standin).messages.create(
        model="claude-haiku-4-5",
        max_tokens=100,
        system="be brief",
        messages=[{"role": "user", "content": "hi"}],
    )
    assert response.content[0].text == "hello there"
    assert response.usage.output_tokens == estimate_tokens("hello there")
    assert standin.requests[0].system == "be brief"


def test_openai_stop_cuts_reply_at_first_stop(standin: StandIn) -> None:
    standin.enqueue("code\n```output\nfake\nEND")
    assert ask_openai(standin, stop=["END", "```output"]) == "code\n"


def test_anthropic_stop_sequences_cut_reply(standin: StandIn) -> None:
    standin.enqueue("answer STOP more")
    response = anthropic_client(standin).messages.create(
        model="m",
        max_tokens=10,
        stop_sequences=["STOP"],
        messages=[{"role": "user", "content": "q"}],
    )
    assert (response.content[0].text, response.stop_reason) == ("answer ", "stop_sequence")


def test_model_queue_wins_over_any_model_queue(standin: StandIn) -> None:
    standin.enqueue("for anyone")
    standin.enqueue("for sub", model="sub")
    assert [ask_openai(standin, model="sub"), ask_openai(standin, model="sub")] == [
        "for sub",
        "for anyone",
    ]


def test_rule_answers_when_queue_is_empty(standin: StandIn) -> None:
    standin.on(lambda req: f"echo: {req.prompt}", model="sub")
    assert ask_openai(standin, "what?", model="sub") == "echo: what?"


def test_rule_returning_none_passes_to_next(standin: StandIn) -> None:
    standin.on(lambda req: None)
    standin.on(lambda req: "second")
    assert ask_openai(standin) == "second"


def test_nothing_scripted_answers_500_saying_so(standin: StandIn) -> None:
    with pytest.raises(openai.InternalServerError, match="scripted no reply"):
        ask_openai(standin)


def test_fail_comes_before_queued_replies(standin: StandIn) -> None:
    standin.enqueue("ok")
    standin.fail(429, retry_after=2)
    with pytest.raises(openai.RateLimitError) as info:
        ask_openai(standin)
    assert info.value.response.headers["retry-after"] == "2"
    assert ask_openai(standin) == "ok"


def test_anthropic_error_shape(standin: StandIn) -> None:
    standin.fail(429)
    with pytest.raises(anthropic.RateLimitError) as info:
        anthropic_client(standin).messages.create(
            model="m", max_tokens=10, messages=[{"role": "user", "content": "q"}]
        )
    assert info.value.body["error"]["type"] == "rate_limit_error"


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_bad_key_is_refused(standin: StandIn, api: str) -> None:
    standin.enqueue("never sent")
    with pytest.raises((openai.AuthenticationError, anthropic.AuthenticationError)):
        if api == "openai":
            openai_client(standin, key="bad-key").chat.completions.create(
                model="m", messages=[{"role": "user", "content": "q"}]
            )
        else:
            anthropic_client(standin, key="bad-key").messages.create(
                model="m", max_tokens=5, messages=[{"role": "user", "content": "q"}]
            )
    assert standin.remaining() == 1


def test_requests_are_recorded_normalised(standin: StandIn) -> None:
    standin.enqueue("ok")
    openai_client(standin).chat.completions.create(
        model="gpt-x",
        messages=[
            {"role": "system", "content": "sys"},
            {"role": "user", "content": [{"type": "text", "text": "part"}]},
        ],
        stop="X",
        temperature=0,
    )
    [req] = standin.requests
    assert req == Request(
        api="openai",
        model="gpt-x",
        messages=[{"role": "user", "content": "part"}],
        system="sys",
        stop=["X"],
        max_tokens=None,
        temperature=0,
        headers=req.headers,
        body=req.body,
    )
    assert req.api_key == "test-key"


def test_peak_in_flight_counts_concurrent_requests(standin: StandIn) -> None:
    standin.latency_s = 0.3
    standin.on(lambda req: "ok")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: ask_openai(standin), range(8)))
    assert standin.peak_in_flight >= 4


def test_hang_is_released_by_close() -> None:
    s = StandIn()
    s.enqueue(Reply(hang=True))
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(ask_openai, s)
        while not s.requests:
            time.sleep(0.01)
        s.close()
        with pytest.raises(openai.APIConnectionError):
            future.result(timeout=10)


def test_unknown_route_is_404(standin: StandIn) -> None:
    request = urllib.request.Request(f"{standin.url}/v1/embeddings", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=5)
    assert info.value.code == 404
    assert "no route" in json.loads(info.value.read())["error"]["message"]
