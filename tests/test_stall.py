"""The answer gates, the idle limit, the stall rule and the fallback (rlm_engine.stall and
rlm_engine.fallback), against the stand-in with the real sandbox."""

from __future__ import annotations

from rlm_engine.config import GuardConfig
from rlm_engine.events import FinalAnswer, GuardFired, SubCallStarted
from rlm_engine.fallback import narrowed, pieces
from rlm_testkit.standin import StandIn
from tests.test_loop import ROOT, SUB, ask, make_config, repl

DOCS = ["Minutes of the board. Nothing decided.", "The vault code is 7431, said the clerk."]


def sub_reads(request) -> str:  # the sub model answers from the snippet it was given
    return "7431" if "7431" in request.prompt else "NO_ANSWER"


def guards(**settings: object) -> GuardConfig:
    return GuardConfig(**settings)  # type: ignore[arg-type]


def fired(events) -> list[tuple[str, str]]:
    return [(g.guard, g.action) for g in events.of(GuardFired)]


def test_small_variant_refuses_a_final_before_any_code(standin_env: StandIn) -> None:
    standin_env.enqueue("FINAL(7431)", repl("print(context[1])"), "FINAL(7431)", model=ROOT)
    config = make_config(prompt_variant="small", first_look=False)  # the gate alone
    result, events = ask("Vault code?", DOCS, config)
    assert (result.answer, result.iterations) == ("7431", 3)
    assert fired(events) == [("final_before_code", "refused")]
    assert "no code has run yet" in standin_env.requests[1].messages[-1]["content"]


def test_the_default_variant_accepts_a_final_without_code(standin_env: StandIn) -> None:
    standin_env.enqueue("FINAL(7431)", model=ROOT)
    result, events = ask("Vault code?", DOCS)
    assert (result.answer, fired(events)) == ("7431", [])


def test_optional_gate_wants_a_sub_call_first(standin_env: StandIn) -> None:
    standin_env.on(sub_reads, model=SUB)
    standin_env.enqueue(
        repl("print(context[1])\nFINAL('7431')"),
        repl("print(ask('Vault code?', context[1]))\nFINAL('7431')"),
        model=ROOT,
    )
    config = make_config(guards=guards(final_needs_sub_call=True))
    result, events = ask("Vault code?", DOCS, config)
    assert (result.answer, result.iterations, result.sub_calls) == ("7431", 2, 1)
    assert fired(events) == [("final_before_sub_call", "refused")]


def test_idle_replies_end_in_the_fallback_answer(standin_env: StandIn) -> None:
    standin_env.on(sub_reads, model=SUB)
    standin_env.on(lambda req: "Let me think about it.", model=ROOT)
    config = make_config(guards=guards(max_idle_replies=2, fallback="answer"))
    result, events = ask("What is the vault code?", DOCS, config)
    assert (result.status, result.answer, result.fallback) == ("completed", "7431", True)
    assert result.iterations == 2 and result.sub_calls == 2  # one sub-call per document
    assert fired(events) == [("idle_replies", "fallback")]
    assert [f.source for f in events.of(FinalAnswer)] == ["fallback"]
    prompts = [e.prompt for e in events.of(SubCallStarted)]
    assert all(p.startswith("Question: What is the vault code?\nSnippet:\n") for p in prompts)
    assert any(DOCS[1] in p for p in prompts)
    assert events.events[-1].fallback is True


def test_a_repeated_block_is_a_stall_and_the_fallback_is_offered(standin_env: StandIn) -> None:
    standin_env.on(sub_reads, model=SUB)
    same = repl("print(len(context))")
    standin_env.enqueue(same, same, same, "FINAL(7431)", model=ROOT)
    result, events = ask("What is the vault code?", DOCS)  # default variant: offer
    assert (result.answer, result.iterations, result.fallback) == ("7431", 4, True)
    assert fired(events) == [("stall_repeat", "fallback")]
    offer = standin_env.requests[-1].messages[-1]["content"]
    assert "the same code block in 3 turns" in offer and "its answer: '7431'" in offer
    assert [f.source for f in events.of(FinalAnswer)] == ["text"]


def test_turns_without_new_output_are_a_stall(standin_env: StandIn) -> None:
    standin_env.on(sub_reads, model=SUB)
    standin_env.enqueue(
        repl("print('nothing found')"),
        repl("x = 1\nprint('nothing found')"),
        repl("y = 2\nprint('nothing found')"),
        model=ROOT,
    )
    config = make_config(guards=guards(stall_iterations=2, fallback="answer"))
    result, events = ask("What is the vault code?", DOCS, config)
    assert (result.answer, result.fallback, result.iterations) == ("7431", True, 3)
    assert fired(events) == [("stall_no_new_output", "fallback")]


def test_a_model_that_stalls_after_the_offer_ends_with_it(standin_env: StandIn) -> None:
    standin_env.on(sub_reads, model=SUB)
    standin_env.on(lambda req: "Hmm.", model=ROOT)
    config = make_config(guards=guards(max_idle_replies=2, fallback="offer"))
    result, events = ask("What is the vault code?", DOCS, config)
    assert (result.answer, result.fallback, result.iterations) == ("7431", True, 4)
    assert fired(events) == [("idle_replies", "fallback"), ("idle_replies", "fallback")]
    assert [f.source for f in events.of(FinalAnswer)] == ["fallback"]


def test_fallback_off_only_tells_the_model(standin_env: StandIn) -> None:
    standin_env.enqueue("Hmm.", "Hmm.", repl("print(context[1])"), "FINAL(7431)", model=ROOT)
    config = make_config(guards=guards(max_idle_replies=2, fallback="off"))
    result, events = ask("What is the vault code?", DOCS, config)
    assert (result.answer, result.fallback, result.sub_calls) == ("7431", False, 0)
    assert fired(events) == [("idle_replies", "noted")]
    assert "Do something different" in standin_env.requests[2].messages[-1]["content"]


def test_a_fallback_that_finds_nothing_lets_the_model_go_on(standin_env: StandIn) -> None:
    standin_env.on(lambda req: "NO_ANSWER", model=SUB)
    standin_env.enqueue("Hmm.", "Hmm.", "FINAL(unknown)", model=ROOT)
    config = make_config(guards=guards(max_idle_replies=2, fallback="answer"))
    result, events = ask("What is the vault code?", DOCS, config)
    assert (result.answer, result.fallback) == ("unknown", False)
    assert fired(events) == [("idle_replies", "fallback")]
    assert "found no answer" in standin_env.requests[-1].messages[-1]["content"]


def test_the_fallback_reduces_differing_answers_with_one_more_call(standin_env: StandIn) -> None:
    def sub(request) -> str:
        if "Combine them" in request.prompt:
            return "7431 and 99"
        return "99" if "99" in request.prompt else "7431"

    standin_env.on(sub, model=SUB)
    standin_env.on(lambda req: "Hmm.", model=ROOT)
    docs = ["Code A is 7431.", "Code B is 99."]
    config = make_config(guards=guards(max_idle_replies=1, fallback="answer"))
    result, _ = ask("Which codes?", docs, config)
    assert (result.answer, result.sub_calls) == ("7431 and 99", 3)


def test_the_fallback_reads_the_chunks_that_hold_the_question_words() -> None:
    chunks = pieces(["a" * 25, "one VAULT", "b" * 10, "vault, vault"], 12)
    assert chunks == ["a" * 12, "a" * 12, "a", "one VAULT", "b" * 10, "vault, vault"]
    picked = narrowed(chunks, "Where is the vault?", 2)
    assert picked == ["one VAULT", "vault, vault"]  # most hits first, kept in corpus order
    assert narrowed(chunks, "anything", 50) == chunks
