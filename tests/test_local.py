"""The local provider against the real llama.cpp server, on SmolLM2-135M (real tokens)."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from rlm_engine.config import Credentials, ModelSpec
from rlm_engine.errors import ConfigError, ProviderError
from rlm_engine.providers import make_provider
from rlm_engine.providers.base import Completion, Message, watch_abandoned
from rlm_engine.providers.local import LocalProvider, loaded_models, shutdown_local_servers

pytestmark = pytest.mark.llama

COUNT: list[Message] = [{"role": "user", "content": "Count from 1 to 30, separated by commas."}]


def ask(spec: ModelSpec, messages: list[Message] = COUNT, **kwargs) -> Completion:
    kwargs.setdefault("max_tokens", 40)
    return make_provider(spec, Credentials()).complete(messages, **kwargs)


def test_completion_reports_real_usage(local_spec: ModelSpec) -> None:
    completion = ask(local_spec)
    assert completion.text
    assert completion.usage.input_tokens > 0
    assert completion.usage.output_tokens > 0


def test_max_tokens_caps_the_reply(local_spec: ModelSpec) -> None:
    assert ask(local_spec, max_tokens=3).usage.output_tokens <= 3


def test_stop_sequence_ends_the_reply(local_spec: ModelSpec) -> None:
    full = ask(local_spec).text
    stop = full.split()[4]
    stopped = ask(local_spec, stop=[stop]).text
    assert stop not in stopped
    assert full.startswith(stopped)


def test_two_threads_at_once_are_both_answered(local_spec: ModelSpec) -> None:
    provider = LocalProvider(local_spec)
    with ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(lambda _: provider.complete(COUNT, max_tokens=10), range(3)))
    assert all(reply.text and reply.usage.output_tokens > 0 for reply in replies)


def test_root_and_sub_share_one_loaded_model(local_spec: ModelSpec) -> None:
    ask(local_spec)
    ask(ModelSpec("local", local_spec.model))
    assert len(loaded_models()) == 1


def test_shutdown_frees_the_model_and_the_next_call_reloads_it(local_spec: ModelSpec) -> None:
    ask(local_spec)
    shutdown_local_servers()
    assert loaded_models() == []
    assert ask(local_spec).text


def test_prompt_longer_than_the_window_is_explained(local_spec: ModelSpec) -> None:
    too_long: list[Message] = [{"role": "user", "content": "word " * 40_000}]
    with pytest.raises(ProviderError, match="does not fit the local model's window"):
        ask(local_spec, too_long)


def test_missing_catalogue_model_is_a_config_error_before_any_call() -> None:
    with pytest.raises(ConfigError, match="Run `rlm model pull`"):
        make_provider(ModelSpec("local", "qwen2.5-coder-1.5b"), Credentials())


def test_a_file_that_is_not_a_model_is_explained(tmp_path) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"GGUF" + bytes(1000))
    with pytest.raises(ConfigError, match="could not load"):
        ask(ModelSpec("local", str(fake)))


def test_a_short_rlm_run_records_real_usage_at_no_cost(
    local_spec: ModelSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rlm_engine import Budgets, RunConfig, run
    from rlm_engine.events import Event, RootResponse

    monkeypatch.setenv("RLM_LOCAL_MAX_TOKENS", "32")  # SmolLM2 rambles; a short run is enough
    events: list[Event] = []
    config = RunConfig(root=local_spec, budgets=Budgets(max_iterations=1), exec_timeout_s=20.0)
    result = run(
        "What is the secret word?", "The secret word is PLUM.", config, on_event=events.append
    )
    responses = [e for e in events if isinstance(e, RootResponse)]
    assert result.status in ("completed", "limit")
    assert result.input_tokens == sum(e.usage.input_tokens for e in responses) > 0
    assert result.output_tokens > 0
    assert result.cost_usd == 0


def conversation(topic: str) -> list[Message]:
    """A prompt with a long fixed prefix, as the root model's turns have (system + history)."""
    rules = f"You answer questions about {topic}. Keep every answer short and precise. " * 40
    return [
        {"role": "system", "content": rules},
        {"role": "user", "content": f"Name one fact about {topic}."},
    ]


def next_turn(messages: list[Message], reply: str) -> list[Message]:
    return [
        *messages,
        {"role": "assistant", "content": reply},
        {"role": "user", "content": "And another one?"},
    ]


def test_the_second_turn_reads_the_first_from_the_kv_cache(local_spec: ModelSpec) -> None:
    provider = LocalProvider(local_spec)
    key = uuid.uuid4().hex
    first = provider.complete(conversation("rivers"), max_tokens=8, conversation=key)
    second = provider.complete(
        next_turn(conversation("rivers"), first.text), max_tokens=8, conversation=key
    )
    assert first.usage.input_tokens > 400
    # all of the first prompt is reused, but its very last token (llama.cpp re-reads one)
    assert second.usage.cached_tokens >= first.usage.input_tokens - 8
    assert second.usage.cached_tokens < second.usage.input_tokens


def test_two_conversations_do_not_evict_each_other(local_spec: ModelSpec) -> None:
    provider = LocalProvider(local_spec)
    keys = {topic: uuid.uuid4().hex for topic in ("rivers", "mountains")}
    firsts = {
        topic: provider.complete(conversation(topic), max_tokens=4, conversation=key)
        for topic, key in keys.items()
    }
    for topic, key in keys.items():  # turns alternate, as two sessions' turns would
        again = provider.complete(
            next_turn(conversation(topic), firsts[topic].text), max_tokens=4, conversation=key
        )
        assert again.usage.cached_tokens >= firsts[topic].usage.input_tokens - 8, topic


def test_a_streamed_local_reply_comes_in_pieces_with_its_speed(local_spec: ModelSpec) -> None:
    pieces: list[str] = []
    completion = LocalProvider(local_spec).complete(COUNT, max_tokens=20, on_text=pieces.append)
    assert len(pieces) > 3 and "".join(pieces) == completion.text
    assert completion.usage.output_tokens > 3
    assert completion.tokens_per_s and completion.tokens_per_s > 0
    assert completion.first_token_s is not None


def test_an_abandoned_call_stops_writing_at_its_next_token(local_spec: ModelSpec) -> None:
    # The engine gives up on a call at a budget or a Stop; the local model then stops at once
    # instead of writing the rest of the reply while the next run's calls wait behind it.
    provider = LocalProvider(local_spec)
    long: list[Message] = [{"role": "user", "content": "Count from 1 to 300, one per line."}]
    given_up = threading.Event()

    def call() -> Completion:
        watch_abandoned(given_up)
        return provider.complete(long, max_tokens=200)

    with ThreadPoolExecutor(1) as pool:
        full = pool.submit(call).result()
        given_up.set()
        stopped = pool.submit(call).result()
    assert full.usage.output_tokens > 50
    assert len(stopped.text) < len(full.text) // 10
