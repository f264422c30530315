"""The router (method auto | rlm | direct): the choice, and direct runs end to end against the
stand-in (real SDK, real HTTP, real sandbox for the RLM side)."""

from __future__ import annotations

import pytest

from rlm_engine import ModelSpec, RunConfig, router
from rlm_engine.events import CodeExecuted, FinalAnswer, MethodChosen, Notice, RootResponse
from rlm_testkit.standin import Reply, StandIn
from tests.test_loop import ROOT, SUB, ask, make_config, repl

WINDOW = 16_384


def config(**overrides: object) -> RunConfig:
    return make_config(**{"method": "auto", "window_tokens": WINDOW, **overrides})


def chars_for(tokens: int) -> int:
    return int(tokens * router.CHARS_PER_TOKEN)


# --- the choice ------------------------------------------------------------------------------
def test_auto_reads_directly_what_fits_the_window_with_the_margin() -> None:
    budget = WINDOW - RunConfig.answer_margin_tokens
    fits = router.choose(config(), chars_for(budget))
    assert (fits.method, fits.corpus_tokens, fits.window_tokens) == ("direct", budget, WINDOW)
    assert fits.reason == f"read directly: about {budget:,} tokens fit the 16,384-token window."
    too_big = router.choose(config(), chars_for(budget) + 10)
    assert too_big.method == "rlm"
    assert "do not fit the 16,384-token window" in too_big.reason


def test_the_threshold_is_configurable() -> None:
    lower = config(direct_threshold_tokens=1_000)
    assert router.choose(lower, chars_for(1_000)).method == "direct"
    over = router.choose(lower, chars_for(1_001))
    assert over.method == "rlm" and "threshold of 1,000 tokens" in over.reason
    margin = config(answer_margin_tokens=15_000)  # 1,384 tokens left for the corpus
    assert router.choose(margin, chars_for(1_384)).method == "direct"
    assert router.choose(margin, chars_for(1_400)).method == "rlm"


def test_auto_never_reads_a_model_of_unknown_window_directly() -> None:
    route = router.choose(config(window_tokens=None), 100)  # root-model: not in the price table
    assert (route.method, route.window_tokens) == ("rlm", None)
    assert "window of root-model is unknown" in route.reason


def test_known_windows_come_from_the_price_table_and_the_local_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    claude = make_config(root=ModelSpec("anthropic", "claude-sonnet-5-5"), method="auto")
    assert router.choose(claude, 1_000).window_tokens == 1_000_000
    monkeypatch.setenv("RLM_LOCAL_N_CTX", "8192")
    local = make_config(root=ModelSpec("local", "qwen2.5-coder-1.5b"), method="auto")
    assert router.choose(local, 1_000).window_tokens == 8_192


def test_an_explicit_method_overrides_auto() -> None:
    assert router.choose(config(method="rlm"), 100).method == "rlm"
    route = router.choose(config(method="direct"), chars_for(50_000))
    assert (route.method, route.cut) == ("direct", True)
    assert "cut to 14,336" in route.reason


# --- direct runs -----------------------------------------------------------------------------
def test_a_corpus_that_fits_is_answered_in_one_root_call(standin_env: StandIn) -> None:
    docs = [f"Contract {i}: the supplier is Vendor {i}; it renews on 2027-0{i}-01." for i in (1, 2)]
    standin_env.enqueue("It renews on 2027-02-01.", model=ROOT)
    result, events = ask("When does the Vendor 2 contract renew?", docs, config())
    assert (result.status, result.method, result.answer) == (
        "completed",
        "direct",
        "It renews on 2027-02-01.",
    )
    assert (result.iterations, result.sub_calls) == (1, 0)
    [chosen] = events.of(MethodChosen)
    assert chosen.method == "direct" and chosen.requested == "auto"
    assert chosen.reason.startswith("read directly: about ")
    [request] = standin_env.requests
    assert docs[0] in request.prompt and docs[1] in request.prompt
    assert request.prompt.rstrip().endswith("Answer:") and request.stop == []
    assert events.of(CodeExecuted) == []
    assert [f.source for f in events.of(FinalAnswer)] == ["direct"]
    [response] = events.of(RootResponse)
    assert result.input_tokens == response.usage.input_tokens > 0
    assert events.events[-1].method == "direct"


def test_auto_runs_the_rlm_where_the_engines_tally_answers_a_small_model(
    standin_env: StandIn,
) -> None:
    """Reading a corpus that fits whole, the 1.5B model miscounts (bench/README); the engine's
    tally reads every record for it. A lookup over the same corpus is still read directly."""
    docs = [
        "SERVICE AGREEMENT SA-1 with Juniper Energy. Renewal date: 2027-03-14.",
        "SERVICE AGREEMENT SA-2 with Acme. Renewal date: 2028-05-04.",
    ]
    small = config(prompt_variant="small", first_look=None)
    standin_env.enqueue("FINAL(1)", model=ROOT)
    result, events = ask("How many agreements renew in 2027?", docs, small)
    assert (result.method, result.answer, result.iterations) == ("rlm", "1", 1)
    [chosen] = events.of(MethodChosen)
    assert chosen.requested == "auto" and "the engine's tally reads every record" in chosen.reason
    assert "count: 1" in events.of(CodeExecuted)[0].output  # the tally, iteration 0
    standin_env.enqueue("It renews on 2027-03-14.", model=ROOT)
    result, _ = ask("When does the agreement with Juniper Energy renew?", docs, small)
    assert result.method == "direct"
    # a model that is not small is not second-guessed: it reads the corpus that fits
    standin_env.enqueue("1", model=ROOT)
    result, _ = ask("How many agreements renew in 2027?", docs, config())
    assert result.method == "direct"


def test_a_corpus_too_large_runs_the_rlm(standin_env: StandIn) -> None:
    standin_env.enqueue(repl("print(len(context))"), "FINAL(big)", model=ROOT)
    result, events = ask("How long?", "x" * chars_for(WINDOW), config())
    assert (result.method, result.answer, result.iterations) == ("rlm", "big", 2)
    assert events.of(MethodChosen)[0].method == "rlm"
    assert len(events.of(CodeExecuted)) == 1


def test_method_direct_cuts_the_corpus_to_the_window_and_says_so(standin_env: StandIn) -> None:
    docs = ["first " * 2_000, "second " * 20_000, "third"]
    standin_env.enqueue("not in what I saw", model=ROOT)
    result, events = ask("Where is third?", docs, config(method="direct", window_tokens=8_000))
    assert result.method == "direct"
    [chosen] = events.of(MethodChosen)
    assert chosen.cut and "cut to 5,952" in chosen.reason
    [note] = [n.message for n in events.of(Notice) if "cut to fit" in n.message]
    assert "1 of 3 documents are shown whole" in note
    prompt = standin_env.requests[0].prompt
    assert note in prompt and "Document 3 of 3" not in prompt
    assert len(prompt) < chars_for(8_000)


def test_auto_falls_back_to_the_rlm_when_the_provider_refuses_the_direct_read(
    standin_env: StandIn,
) -> None:
    standin_env.fail(400, model=ROOT, message="This model's maximum context length is exceeded")
    standin_env.enqueue(repl("print(context)"), "FINAL(tiny)", model=ROOT)
    result, events = ask("What?", "tiny corpus", config())
    assert (result.status, result.method, result.answer) == ("completed", "rlm", "tiny")
    assert any("Reading directly failed" in n.message for n in events.of(Notice))


def test_a_direct_run_counts_its_cost_like_any_run(standin_env: StandIn) -> None:
    standin_env.enqueue(Reply("4", input_tokens=1_000_000, output_tokens=0), model=ROOT)
    prices = {ROOT: (2.0, 8.0)}
    result, _ = ask("2+2?", "2+2=4", config(price_overrides=prices))
    assert (result.method, result.cost_usd) == ("direct", pytest.approx(2.0))


def test_sub_model_unused_by_a_direct_run(standin_env: StandIn) -> None:
    standin_env.enqueue("yes", model=ROOT)
    ask("Is it?", "it is", config())
    assert [r.model for r in standin_env.requests] == [ROOT]
    assert SUB not in {r.model for r in standin_env.requests}


def test_the_python_api_takes_the_method_and_reports_it(standin_env: StandIn) -> None:
    from rlm_engine import RLM

    standin_env.enqueue("2027-03-01", model=ROOT)
    rlm = RLM(root=f"openai:{ROOT}", method="direct")
    result = rlm.ask("When does Juniper renew?", ["Juniper Energy renews on 2027-03-01."])
    assert (result.method, result.answer, result.iterations) == ("direct", "2027-03-01", 1)


def test_the_rlm_asked_for_looks_up_no_window() -> None:
    """Method rlm needs no window: the price table (tenths of a second to import) is not read
    before the run's first request; the window the table knows is left out of the event."""
    claude = make_config(root=ModelSpec("anthropic", "claude-sonnet-5-5"), method="rlm")
    route = router.choose(claude, 1_000)
    assert (route.method, route.window_tokens, route.budget_tokens) == ("rlm", None, None)
    assert route.reason == "RLM: the run's method is rlm."
