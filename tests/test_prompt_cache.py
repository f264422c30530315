"""Prompt caching and streaming against the stand-in, over real HTTP through the official SDKs:
what each API reports about its cache reaches the usage, the price and the run's totals, and a
streamed root reply arrives as RootDelta events that storage does not keep."""

from __future__ import annotations

import pytest

from rlm_engine import Budgets, Credentials, ModelSpec, RunConfig, run
from rlm_engine.events import Event, RootDelta, RootResponse, RunFinished, Usage
from rlm_engine.pricing import cost_usd
from rlm_engine.providers import make_provider
from rlm_testkit.runs import Collector
from rlm_testkit.standin import Reply, StandIn

MIN_TOKENS = 256  # the stand-in caches prefixes from here on (the APIs: 1,024 and up)
CORPUS = "The secret word is PLUM. " * 2_000


def credentials(standin: StandIn) -> Credentials:
    return Credentials(
        openai_api_key="test-key",
        anthropic_api_key="test-key",
        openai_base_url=standin.openai_base_url,
        anthropic_base_url=standin.anthropic_base_url,
    )


def three_turns(standin: StandIn, model: str) -> None:
    """Two turns of code with long outputs, then an answer."""
    code = "```repl\nprint(context[:3000])\n```"
    standin.enqueue(code, code, "FINAL(PLUM)", model=model)


def ask(standin: StandIn, provider: str, model: str, **overrides: object) -> Collector:
    events = Collector()
    config = RunConfig(
        root=ModelSpec(provider, model),
        budgets=Budgets(max_iterations=5),
        exec_timeout_s=20.0,
        **overrides,  # type: ignore[arg-type]
    )
    result = run("What is the secret word?", CORPUS, config, credentials=credentials(standin),
                 on_event=events)  # fmt: skip
    assert result.status == "completed", result.error
    return events


@pytest.fixture
def cached_standin():
    with StandIn(cache_min_tokens=MIN_TOKENS) as server:
        yield server


def test_openai_cached_tokens_are_reported_and_priced_at_the_cache_rate(cached_standin) -> None:
    three_turns(cached_standin, "gpt-4.1")
    events = ask(cached_standin, "openai", "gpt-4.1")
    turns = events.of(RootResponse)
    assert [t.usage.cached_tokens > 0 for t in turns] == [False, True, True]
    spec = ModelSpec("openai", "gpt-4.1")
    for turn in turns:  # $2 per million input tokens, $0.50 cached, $8 output
        usage = turn.usage
        expected = (
            (usage.input_tokens - usage.cached_tokens) * 2.0
            + usage.cached_tokens * 0.5
            + usage.output_tokens * 8.0
        ) / 1e6
        assert turn.cost_usd == pytest.approx(expected)
        if usage.cached_tokens:
            assert turn.cost_usd < cost_usd(spec, Usage(usage.input_tokens, usage.output_tokens))
    finished = events.of(RunFinished)[0]
    assert finished.cached_tokens == sum(t.usage.cached_tokens for t in turns) > 0
    assert finished.cost_usd == pytest.approx(sum(t.cost_usd for t in turns))


def test_anthropic_marks_the_system_prompt_and_history_and_reads_them_back(cached_standin) -> None:
    model = "claude-sonnet-4-5"
    three_turns(cached_standin, model)
    events = ask(cached_standin, "anthropic", model)
    bodies = [r.body for r in cached_standin.requests if r.model == model]
    for body in bodies:
        assert body["system"][-1]["cache_control"] == {"type": "ephemeral"}
        assert body["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
        marks = sum("cache_control" in str(block) for block in body["system"])
        marks += sum("cache_control" in str(m["content"]) for m in body["messages"])
        assert marks <= 4
    turns = events.of(RootResponse)
    assert turns[0].usage.cache_write_tokens > 0 and turns[0].usage.cached_tokens == 0
    assert all(t.usage.cached_tokens > 0 for t in turns[1:])
    # each later turn reads what the one before wrote and writes only what is new
    assert turns[1].usage.cached_tokens >= turns[0].usage.cache_write_tokens
    for turn in turns:  # $3 per million input, $0.30 read, $3.75 write, $15 output
        u = turn.usage
        plain = u.input_tokens - u.cached_tokens - u.cache_write_tokens
        expected = (
            plain * 3 + u.cached_tokens * 0.3 + u.cache_write_tokens * 3.75 + u.output_tokens * 15
        ) / 1e6
        assert turn.cost_usd == pytest.approx(expected)
    finished = events.of(RunFinished)[0]
    assert finished.cached_tokens == sum(t.usage.cached_tokens for t in turns)
    assert finished.cache_write_tokens == sum(t.usage.cache_write_tokens for t in turns)


def test_an_anthropic_sub_call_is_not_marked_for_caching(cached_standin) -> None:
    cached_standin.enqueue("x" * 4000)  # a one-off prompt: a cache write would cost 25% more
    provider = make_provider(
        ModelSpec("anthropic", "claude-haiku-4-5"), credentials(cached_standin)
    )
    completion = provider.complete([{"role": "user", "content": "y " * 2000}])
    assert "cache_control" not in str(cached_standin.requests[-1].body)
    assert completion.usage.cache_write_tokens == 0


def test_the_stand_in_refuses_more_than_four_breakpoints(cached_standin) -> None:
    import anthropic

    client = anthropic.Anthropic(api_key="k", base_url=cached_standin.anthropic_base_url)
    marked = {"type": "text", "text": "z", "cache_control": {"type": "ephemeral"}}
    with pytest.raises(anthropic.BadRequestError, match="maximum of 4"):
        client.messages.create(
            model="m", max_tokens=5, messages=[{"role": "user", "content": [marked] * 5}]
        )


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_streamed_reply_arrives_in_pieces_with_its_usage(cached_standin, provider) -> None:
    text = "A reply that streams in many small pieces. " * 5
    cached_standin.enqueue(Reply(text, chunk_delay_s=0.002))
    pieces: list[str] = []
    completion = make_provider(ModelSpec(provider, "m"), credentials(cached_standin)).complete(
        [{"role": "user", "content": "go"}], on_text=pieces.append
    )
    assert len(pieces) > 5 and "".join(pieces) == completion.text == text
    assert completion.usage.output_tokens > 0 and completion.usage.input_tokens > 0
    assert completion.first_token_s is not None and completion.tokens_per_s
    body = cached_standin.requests[-1].body
    assert body["stream"] is True
    if provider == "openai":
        assert body["stream_options"] == {"include_usage": True}


def test_root_deltas_rebuild_the_reply_and_storage_keeps_none(cached_standin, tmp_path) -> None:
    from rlm_engine.trace import fold
    from storage import Database

    reply = "I will look at the start of the corpus first, then answer.\nFINAL(PLUM)"
    cached_standin.enqueue(Reply(reply, chunk_delay_s=0.03), model="gpt-4.1")
    db = Database.open(f"sqlite:///{tmp_path / 'runs.db'}")
    recorder = db.recorder()
    events = Collector()

    def both(event: Event) -> None:
        events(event)
        recorder(event)

    config = RunConfig(root=ModelSpec("openai", "gpt-4.1"), exec_timeout_s=20.0)
    result = run("Secret?", CORPUS, config, credentials=credentials(cached_standin),
                 on_event=both)  # fmt: skip
    assert result.answer == "PLUM"
    deltas = events.of(RootDelta)
    assert len(deltas) >= 2
    assert all(d.iteration == 1 and d.depth == 0 for d in deltas)
    streamed = fold([e for e in events.events if isinstance(e, RootDelta)])
    assert reply.startswith(streamed.streaming) and len(streamed.streaming) > 10
    whole = fold(events.events)
    assert whole.streaming is None  # the RootResponse replaced it
    response = events.of(RootResponse)[0]
    assert response.tokens_per_s and response.first_token_s is not None
    assert recorder.close() == 0
    stored = db.run_events(result.run_id)
    assert stored and not any(isinstance(e, RootDelta) for e in stored)
    assert next(e for e in stored if isinstance(e, RootResponse)).tokens_per_s
    db.close()


def test_a_direct_read_is_not_marked_for_caching(cached_standin) -> None:
    """One call with the whole corpus in it: a cache write would cost 25% more, never read."""
    model = "claude-sonnet-4-5"
    cached_standin.enqueue("PLUM", model=model)
    events = ask(cached_standin, "anthropic", model, method="direct")
    (request,) = [r for r in cached_standin.requests if r.model == model]
    assert "cache_control" not in str(request.body)
    assert events.of(RootResponse)[0].usage.cache_write_tokens == 0
