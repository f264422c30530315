"""OpenAI and Anthropic providers: real HTTP through the official SDKs to the stand-in."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

import pytest

from rlm_engine.config import Credentials, ModelSpec
from rlm_engine.errors import ProviderAuthError, ProviderError, ProviderUnavailable
from rlm_engine.events import Usage
from rlm_engine.providers import Provider, make_provider
from rlm_engine.providers.anthropic import AnthropicProvider
from rlm_engine.providers.openai import OpenAIProvider
from rlm_testkit.standin import Reply, StandIn

APIS = ["openai", "anthropic"]
USER = [{"role": "user", "content": "What is 2+2?"}]
ENV_VAR = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}


def base_url(s: StandIn, api: str) -> str:
    return s.openai_base_url if api == "openai" else s.anthropic_base_url


def credentials(api: str, key: str | None = "test-key", url: str | None = None) -> Credentials:
    return Credentials(**{f"{api}_api_key": key, f"{api}_base_url": url})


def provider(s: StandIn, api: str, key: str | None = "test-key", **kw) -> Provider:
    """A provider pointed at the stand-in, with near-zero backoff so that retry tests are fast."""
    cls = OpenAIProvider if api == "openai" else AnthropicProvider
    kw.setdefault("backoff_s", 0.001)
    return cls(ModelSpec(api, "model-x"), credentials(api, key, base_url(s, api)), **kw)


def dead_url(api: str) -> str:
    """A URL on a port nobody listens on: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}" + ("/v1" if api == "openai" else "")


@pytest.mark.parametrize("api", APIS)
def test_completion_has_text_usage_and_model(standin: StandIn, api: str) -> None:
    standin.enqueue(Reply("4", input_tokens=12, output_tokens=1))
    completion = provider(standin, api).complete(USER)
    assert (completion.text, completion.usage, completion.model) == ("4", Usage(12, 1), "model-x")


@pytest.mark.parametrize("api", APIS)
def test_stop_sequences_are_forwarded(standin: StandIn, api: str) -> None:
    standin.enqueue("code\n```output\ninvented")
    completion = provider(standin, api).complete(USER, stop=["```output"])
    assert standin.requests[0].stop == ["```output"]
    assert completion.text == "code\n"


@pytest.mark.parametrize("api", APIS)
def test_max_tokens_is_forwarded(standin: StandIn, api: str) -> None:
    standin.enqueue("ok")
    provider(standin, api).complete(USER, max_tokens=77)
    assert standin.requests[0].max_tokens == 77


def test_openai_temperature_is_forwarded(standin: StandIn) -> None:
    standin.enqueue("ok")
    provider(standin, "openai").complete(USER, temperature=0.0)
    assert standin.requests[0].temperature == 0.0


def test_anthropic_ignores_temperature(standin: StandIn) -> None:
    standin.enqueue("ok")
    assert provider(standin, "anthropic").complete(USER, temperature=0.0).text == "ok"
    assert "temperature" not in standin.requests[0].body


@pytest.mark.parametrize("api", APIS)
def test_rate_limit_then_ok_is_retried(standin: StandIn, api: str) -> None:
    standin.fail(429, retry_after=0)
    standin.enqueue("ok")
    assert provider(standin, api).complete(USER).text == "ok"
    assert len(standin.requests) == 2


@pytest.mark.parametrize("api", APIS)
def test_persistent_500_is_unavailable_after_retries(standin: StandIn, api: str) -> None:
    standin.fail(500, times=10, message="the backend is on fire")
    with pytest.raises(ProviderUnavailable, match="answered 500 3 times: the backend is on fire"):
        provider(standin, api, max_retries=2).complete(USER)
    assert len(standin.requests) == 3


@pytest.mark.parametrize("api", APIS)
def test_hanging_server_times_out(standin: StandIn, api: str) -> None:
    standin.enqueue(Reply(hang=True), Reply(hang=True))
    with pytest.raises(ProviderUnavailable, match=r"timed out 2 times: no answer within 0\.3 s"):
        provider(standin, api, timeout_s=0.3, max_retries=1).complete(USER)
    assert len(standin.requests) == 2


@pytest.mark.parametrize("api", APIS)
def test_dead_endpoint_is_unavailable(api: str) -> None:
    cls = OpenAIProvider if api == "openai" else AnthropicProvider
    p = cls(ModelSpec(api, "m", dead_url(api)), credentials(api), max_retries=1, backoff_s=0.001)
    with pytest.raises(ProviderUnavailable, match="could not be reached 2 times"):
        p.complete(USER)


@pytest.mark.parametrize("api", APIS)
def test_wrong_key_is_auth_error_without_retry(standin: StandIn, api: str) -> None:
    with pytest.raises(ProviderAuthError, match=ENV_VAR[api]) as info:
        provider(standin, api, key="bad-key").complete(USER)
    assert len(standin.requests) == 1
    assert "bad-key" not in str(info.value)


@pytest.mark.parametrize("api", APIS)
def test_other_4xx_is_provider_error_with_its_message(standin: StandIn, api: str) -> None:
    standin.fail(404, message="model-x does not exist")
    with pytest.raises(ProviderError, match=r"404.*model-x does not exist") as info:
        provider(standin, api).complete(USER)
    assert not isinstance(info.value, ProviderUnavailable)
    assert len(standin.requests) == 1


@pytest.mark.parametrize("api", APIS)
def test_missing_key_names_env_var_and_settings(api: str) -> None:
    with pytest.raises(ProviderAuthError, match=f"{ENV_VAR[api]}.*Settings page"):
        make_provider(ModelSpec(api, "m"), Credentials())


@pytest.mark.parametrize("api", APIS)
def test_base_url_without_key_sends_placeholder(standin: StandIn, api: str) -> None:
    standin.enqueue("ok")
    assert provider(standin, api, key=None).complete(USER).text == "ok"
    assert standin.requests[0].api_key == "not-needed"


@pytest.mark.parametrize("api", APIS)
def test_spec_base_url_wins_over_credentials(standin: StandIn, api: str) -> None:
    standin.enqueue("ok")
    spec = ModelSpec(api, "m", base_url=base_url(standin, api))
    p = make_provider(spec, credentials(api, url=dead_url(api)), max_retries=0)
    assert p.complete(USER).text == "ok"


@pytest.mark.parametrize("api", APIS)
def test_credentials_base_url_wins_over_env(
    standin: StandIn, api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{api.upper()}_BASE_URL", dead_url(api))
    standin.enqueue("ok")
    p = make_provider(ModelSpec(api, "m"), credentials(api, url=base_url(standin, api)))
    assert p.complete(USER).text == "ok"


@pytest.mark.parametrize("api", APIS)
def test_env_base_url_is_the_sdk_fallback(standin_env: StandIn, api: str) -> None:
    standin_env.enqueue("ok")
    assert make_provider(ModelSpec(api, "m"), credentials(api)).complete(USER).text == "ok"


@pytest.mark.parametrize("api", APIS)
def test_concurrent_calls_overlap(standin: StandIn, api: str) -> None:
    standin.hold_until_in_flight(8)
    standin.on(lambda request: "ok")
    p = provider(standin, api)
    with ThreadPoolExecutor(16) as pool:
        texts = list(pool.map(lambda _: p.complete(USER).text, range(16)))
    assert texts == ["ok"] * 16
    assert standin.peak_in_flight >= 8


@pytest.mark.parametrize("api", APIS)
def test_repr_hides_the_key(standin: StandIn, api: str) -> None:
    p = provider(standin, api, key="sk-secret-123456")
    assert "sk-secret" not in repr(p)
    assert "model-x" in repr(p)


def test_anthropic_gets_system_apart_and_merged_turns(standin: StandIn) -> None:
    standin.enqueue("ok")
    provider(standin, "anthropic").complete(
        [
            {"role": "system", "content": "You are an RLM."},
            {"role": "user", "content": "question"},
            {"role": "user", "content": "context"},
            {"role": "assistant", "content": "thinking"},
        ]
    )
    [request] = standin.requests
    assert request.system == "You are an RLM."
    assert request.messages == [
        {"role": "user", "content": "question\n\ncontext"},
        {"role": "assistant", "content": "thinking"},
    ]


def test_anthropic_default_max_tokens_is_sent(standin: StandIn) -> None:
    standin.enqueue("ok")
    provider(standin, "anthropic", default_max_tokens=123).complete(USER)
    assert standin.requests[0].max_tokens == 123


def test_openai_messages_pass_through_unchanged(standin: StandIn) -> None:
    standin.enqueue("ok")
    messages = [{"role": "system", "content": "sys"}, *USER, *USER]
    provider(standin, "openai").complete(messages)
    assert standin.requests[0].body["messages"] == messages


@pytest.mark.parametrize("api", APIS)
def test_stops_are_applied_when_the_server_ignores_them(standin: StandIn, api: str) -> None:
    standin.enqueue(Reply("answer\n```output\ninvented", ignore_stop=True))
    assert provider(standin, api).complete(USER, stop=["```output"]).text == "answer\n"


def test_anthropic_whitespace_stops_are_applied_locally(standin: StandIn) -> None:
    standin.enqueue("first\n\nsecond")
    completion = provider(standin, "anthropic").complete(USER, stop=["\n\n"])
    assert (standin.requests[0].stop, completion.text) == ([], "first")


def test_openai_model_refusing_stop_is_asked_again_without_it(standin: StandIn) -> None:
    standin.fail(400, message="Unsupported parameter: 'stop' is not supported with this model.")
    standin.enqueue(Reply("one STOP two", ignore_stop=True), "three STOP")
    p = provider(standin, "openai")
    texts = [p.complete(USER, stop=["STOP"]).text, p.complete(USER, stop=["STOP"]).text]
    assert texts == ["one ", "three "]
    assert [r.stop for r in standin.requests] == [["STOP"], [], []]
