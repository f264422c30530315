"""Reading code blocks and FINAL lines from root replies (pure functions)."""

from __future__ import annotations

import pytest

from rlm_engine.parsing import (
    FinalDirective,
    bare_code,
    find_code_blocks,
    find_final,
    strip_code_blocks,
    unfenced_code,
)


def test_code_blocks_in_order() -> None:
    reply = "Look:\n```repl\nx = 1\nprint(x)\n```\nthen\n```repl\ny = 2\n```"
    assert find_code_blocks(reply) == ["x = 1\nprint(x)", "y = 2"]


def test_python_fence_counts_as_code() -> None:
    assert find_code_blocks("```python\nprint(1)\n```") == ["print(1)"]


def test_other_fences_are_not_code() -> None:
    assert find_code_blocks("```text\nprint(1)\n```\n```json\n{}\n```") == []


@pytest.mark.parametrize("fence", ["```Python", "```REPL", "```Py", "```repl  "])
def test_code_fences_in_any_case(fence: str) -> None:
    assert find_code_blocks(f"Look:\n{fence}\nprint(1)\n```") == ["print(1)"]


def test_fence_inside_code_does_not_close_the_block() -> None:
    reply = "```repl\nparts = doc.split('```')\nprint(len(parts))\n```\nDone."
    assert find_code_blocks(reply) == ["parts = doc.split('```')\nprint(len(parts))"]


def test_indented_closing_fence_closes_the_block() -> None:
    reply = "1. Search:\n   ```repl\n   print(1)\n   ```\nFINAL(x)"
    assert find_code_blocks(reply) == ["print(1)"]
    assert find_final(reply) == FinalDirective("FINAL", "x")


def test_crlf_line_ends() -> None:
    reply = "Look:\r\n```repl\r\nx = 1\r\nprint(x)\r\n```\r\nFINAL(done)\r\n"
    assert find_code_blocks(reply) == ["x = 1\nprint(x)"]
    assert find_final(reply) == FinalDirective("FINAL", "done")


@pytest.mark.parametrize("fence", ["```text", "```", "```json", "````md"])
def test_final_inside_another_fenced_block_is_not_final(fence: str) -> None:
    closer = "`" * fence.count("`")
    assert find_final(f"An example:\n{fence}\nFINAL(example)\n{closer}\nMore work.") is None


def test_strip_code_blocks_keeps_other_fenced_blocks() -> None:
    reply = "a\n```repl\nx = '```'\n```\n```text\nkept\n```\nb"
    assert strip_code_blocks(reply).split() == ["a", "```text", "kept", "```", "b"]


def test_unclosed_last_block_is_kept() -> None:
    assert find_code_blocks("```repl\nx = 1\n```\n```repl\nprint(len(context))") == [
        "x = 1",
        "print(len(context))",
    ]


def test_no_code() -> None:
    assert find_code_blocks("Just prose.") == []


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("FINAL(42)", "42"),
        ('FINAL("The answer is 42")', "The answer is 42"),
        ("FINAL('single')", "single"),
        ('FINAL("""multi\nline""")', "multi\nline"),
        ("Done.\nFINAL(f(x) = g(h(y)))", "f(x) = g(h(y))"),
        ('FINAL(a "quoted (paren" b)', 'a "quoted (paren" b'),
        ("FINAL(It's 42 (really))", "It's 42 (really)"),
        ("FINAL(line one\nline two)\n", "line one\nline two"),
        ("  FINAL(indented)", "indented"),
        ("FINAL(unclosed answer", "unclosed answer"),
        ('FINAL("with \\"escaped\\" quotes")', 'with "escaped" quotes'),
        ("FINAL(Bob's car)\n\nI used regex (re) to find it.", "Bob's car"),
        (
            "FINAL(The company's revenue (2023) was $5M)\nThanks (bye)",
            "The company's revenue (2023) was $5M",
        ),
        ("FINAL(the users' names)\nNote (x)", "the users' names"),
        ("FINAL('90s music)\nfound (it)", "'90s music"),
        ("FINAL(f'{1}')", "f'{1}'"),
        ("FINAL(r'a\\b')", "a\\b"),
        ('FINAL("""a\nb (c""")\nbye (x)', "a\nb (c"),
    ],
)
def test_final_values(reply: str, expected: str) -> None:
    assert find_final(reply) == FinalDirective("FINAL", expected)


@pytest.mark.parametrize(
    "reply", ["FINAL_VAR(result)", "FINAL_VAR('result')", 'FINAL_VAR("result")']
)
def test_final_var_name(reply: str) -> None:
    assert find_final(reply) == FinalDirective("FINAL_VAR", "result")


def test_final_inside_code_is_not_a_final_line() -> None:
    assert find_final("```repl\nFINAL(x)\n```\nWaiting for output.") is None


def test_final_must_start_a_line() -> None:
    assert find_final("I will call FINAL(x) later.") is None


@pytest.mark.parametrize("spelling", ["Final", "final", "Final_Var"])
def test_final_line_in_any_case(spelling: str) -> None:
    directive = find_final(f"The code is known.\n{spelling}(orchid-725)")
    assert directive is not None and directive.kind == spelling.upper()
    assert directive.value == "orchid-725"


def test_first_final_line_wins() -> None:
    assert find_final("FINAL(a)\nFINAL(b)") == FinalDirective("FINAL", "a")


def test_strip_code_blocks_leaves_prose() -> None:
    assert strip_code_blocks("a\n```repl\nx\n```\nb").split() == ["a", "b"]


@pytest.mark.parametrize(
    "reply",
    ["print(context[:100])", 'import re\nhits = re.findall("x", context)\nprint(hits)'],
)
def test_bare_code_is_recognised(reply: str) -> None:
    assert bare_code(reply) == reply


@pytest.mark.parametrize(
    "reply",
    ["The answer is 42.", "Yes", "42", "'just a string'", "```repl\nx = 1\n```", ""],
)
def test_prose_is_not_bare_code(reply: str) -> None:
    assert bare_code(reply) is None


@pytest.mark.parametrize(
    ("reply", "value"),
    [
        ("FINAL(2, sources=[doc[m.start() - 200: m.end() + 200]])", "2"),
        ('FINAL("Juniper Energy", sources=["Juniper Energy renews"])', "Juniper Energy"),
        ("FINAL(Paris, sources=[)", "Paris"),  # not Python: cut at the keyword
        ("FINAL(a, b, c)", "a, b, c"),  # no sources: as written
        ("FINAL(sources=[x] is the word)", "sources=[x] is the word"),
    ],
)
def test_a_text_final_drops_its_sources_argument(reply: str, value: str) -> None:
    final = find_final(reply)
    assert final is not None and final.value == value


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        ('rows = tally("total", keep="Acme")\nFINAL(14)', 'rows = tally("total", keep="Acme")'),
        (
            "for doc in context:\n    print(doc[:80])\n```",
            "for doc in context:\n    print(doc[:80])",
        ),
        ("print(len(context))", "print(len(context))"),
    ],
)
def test_unfenced_code_before_a_final_line_or_a_stray_fence(reply: str, code: str) -> None:
    assert unfenced_code(reply) == code


@pytest.mark.parametrize("reply", ["FINAL(14)", "The count is 3.\nFINAL(3)", "rows\nFINAL(3)"])
def test_no_unfenced_code_in_an_answer(reply: str) -> None:
    assert unfenced_code(reply) is None
