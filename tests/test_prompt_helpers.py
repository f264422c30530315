"""The system prompts name the REPL helpers, and the first message carries a strategy hint that
suits the corpus's size; both can be switched off (RunConfig) to measure what they buy."""

from __future__ import annotations

import pytest

from rlm_engine import prompts
from rlm_engine.sandbox.repl_helpers import NAMES
from rlm_testkit.standin import StandIn
from tests.test_loop import ROOT, ask, make_config


@pytest.mark.parametrize("small", [False, True])
def test_both_system_prompts_name_every_helper(small: bool) -> None:
    text = prompts.system_prompt(small=small)
    assert all(f"{name}(" in text for name in NAMES)
    assert all(
        f"{name}(" not in prompts.system_prompt(small=small, helpers=False) for name in NAMES
    )


def test_the_small_prompt_shows_find_and_ask_chunks_in_examples() -> None:
    text = prompts.system_prompt(small=True)
    assert 'for m in find("vault"):' in text
    assert 'answers = ask_chunks("What is the password for the vault?", chunk(8000))' in text


@pytest.mark.parametrize(
    ("total", "n_docs", "words"),
    [
        (8_000, 3, "is small (8,000 characters): print it"),
        (64_000, 40, "40 documents: search them with find()"),
        (64_000, 2, "search `context` with find()"),
        (1_000_000, 400, "is huge (1,000,000 characters)"),
    ],
)
def test_the_hint_follows_the_corpus_size(total: int, n_docs: int, words: str) -> None:
    meta = {"total_chars": total, "n_documents": n_docs}
    hint = prompts.strategy_hint(meta, sub_budget_chars=20_000)
    assert words in hint and hint.count("\n") == 0


def test_the_first_message_carries_the_hint_unless_switched_off(standin_env: StandIn) -> None:
    standin_env.enqueue("FINAL(a)", "FINAL(b)", model=ROOT)
    ask("Q?", ["doc"] * 30 + ["x" * 120_000])
    ask("Q?", ["doc"] * 30 + ["x" * 120_000], make_config(strategy_hints=False))
    first, second = (r.messages[0]["content"] for r in standin_env.requests)
    assert "Strategy: 31 documents: search them with find()" in first
    assert "Strategy:" not in second
    assert "find(pattern" in standin_env.requests[0].system


def test_no_example_answer_of_the_small_prompt_is_said_twice() -> None:
    """With "Valletta" in the lookup example and again in the sources sentence, the 1.5B model
    answered "Valley Forge" (in no document) for "Which vendor issued invoice INV-14697?" while
    its first look showed "Summit Printing billed USD 98,182 on invoice INV-14697"; with the
    name said once it answered "Summit Printing"."""
    import re

    for helpers in (True, False):
        prompt = prompts.system_prompt(small=True, sub_budget_chars=20_000, helpers=helpers)
        answers = re.findall(r"FINAL\(([^)]*?)(?:,|\))", prompt)
        named = [a.strip("\"'") for a in answers if a.strip("\"'")[:1].isupper()]
        assert named, "the examples answer with names"
        for name in named:
            assert prompt.count(name) <= 2, name  # its "Shown:" line and its FINAL
    note = prompts.first_user_message(
        "Who issued INV-1?", {"type": "str"}, None, None, None, ("x", "y", "fact")
    )
    assert "only what was asked" in note and "not a sentence" in note
