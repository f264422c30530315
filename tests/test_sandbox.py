"""The REPL contract, against a real worker subprocess."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from rlm_engine.errors import BudgetExceeded
from rlm_engine.held import HeldContext
from rlm_engine.sandbox import Sandbox
from tests.fixtures.sandbox import Recorder


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A started sandbox; closed after the test."""
    with Sandbox(exec_timeout_s=30, output_limit_chars=2_000) as box:
        box.start()
        yield box


def run(box: Sandbox, code: str, handler: Recorder | None = None):
    return box.execute(code, handler or Recorder())


def test_variables_persist_across_executions(sandbox: Sandbox) -> None:
    run(sandbox, "total = 40")
    assert run(sandbox, "print(total + 2)").output == "42\n"


@pytest.mark.parametrize(
    ("code", "echo"),
    [("1 + 1", "2\n"), ("'a' * 3", "'aaa'\n"), ("x = 5", ""), ("None", ""), ("print('p')", "p\n")],
)
def test_bare_last_expression_is_echoed(sandbox: Sandbox, code: str, echo: str) -> None:
    assert run(sandbox, code).output == echo


def test_output_is_truncated_with_a_marker() -> None:
    with Sandbox(output_limit_chars=1_000) as box:
        result = run(box, "print('a' * 50_000)")
    assert result.output_chars == 50_001
    assert f"[{50_001 - 1_000:,} characters truncated]" in result.output
    assert result.output.startswith("a" * 500)
    assert result.output.endswith("a" * 499 + "\n")


def test_stdout_and_stderr_both_come_back(sandbox: Sandbox) -> None:
    result = run(sandbox, "import sys\nprint('out')\nprint('err', file=sys.stderr)")
    assert result.output == "out\nerr\n"


def test_final_in_code_sets_the_answer_and_the_block_finishes(sandbox: Sandbox) -> None:
    result = run(sandbox, "FINAL(6 * 7)\nprint('after')")
    assert (result.final, result.output) == ("42", "after\n")


def test_final_var_reads_a_variable(sandbox: Sandbox) -> None:
    result = run(sandbox, "answer = ['Paris']\nFINAL_VAR('answer')")
    assert result.final == "['Paris']"


def test_final_var_on_a_missing_name_raises_in_the_repl(sandbox: Sandbox) -> None:
    result = run(sandbox, "FINAL_VAR('nothing_here')")
    assert result.final is None
    assert result.error is not None and "nothing_here" in result.error
    assert result.error.startswith("NameError")


def test_no_final_when_code_does_not_call_it(sandbox: Sandbox) -> None:
    assert run(sandbox, "x = 1").final is None


def test_llm_query_round_trips_through_the_handler(sandbox: Sandbox) -> None:
    handler = Recorder()
    result = run(sandbox, "print(llm_query('capital of France?'))", handler)
    assert handler.calls == [("llm_query", "capital of France?")]
    assert result.output == "answer to capital of France?\n"


def test_llm_query_batched_reaches_the_handler_one_prompt_at_a_time(sandbox: Sandbox) -> None:
    """The host splits a batch (so that an ended block can stop it); answers stay in order."""
    handler = Recorder()
    prompts = [str(i) for i in range(20)]
    result = run(sandbox, f"llm_query_batched({prompts!r})", handler)
    assert sorted(handler.calls) == sorted(("llm_query_batched", [p]) for p in prompts)
    assert result.output == repr([f"answer to {p}" for p in prompts]) + "\n"


class FailsOnB(Recorder):
    def llm_query_batched(self, prompts: list[str]) -> list[str]:
        if "b" in prompts:
            raise RuntimeError("provider down")
        return super().llm_query_batched(prompts)


def test_one_failed_prompt_of_a_batch_is_an_error_string(sandbox: Sandbox) -> None:
    result = run(sandbox, "llm_query_batched(['a', 'b', 'c'])", FailsOnB())
    assert result.output == "['answer to a', 'Error: provider down', 'answer to c']\n"


def test_rlm_query_passes_the_context(sandbox: Sandbox) -> None:
    handler = Recorder()
    result = run(sandbox, "rlm_query('who?', context=['doc one'])", handler)
    assert handler.calls == [("rlm_query", ("who?", ["doc one"]))]
    assert result.output == "'child answer to who?'\n"


def test_llm_query_from_threads_of_model_code(sandbox: Sandbox) -> None:
    code = (
        "from concurrent.futures import ThreadPoolExecutor\n"
        "with ThreadPoolExecutor(4) as pool:\n"
        "    answers = list(pool.map(llm_query, [str(i) for i in range(8)]))\n"
        "answers"
    )
    result = run(sandbox, code)
    assert result.output == repr([f"answer to {i}" for i in range(8)]) + "\n"


def test_handler_exception_is_a_catchable_repl_exception(sandbox: Sandbox) -> None:
    handler = Recorder(fail=BudgetExceeded("max_sub_calls", "sub-call budget spent"))
    code = "try:\n    llm_query('x')\nexcept RuntimeError as e:\n    print('caught:', e)"
    assert run(sandbox, code, handler).output == "caught: sub-call budget spent\n"


def test_uncaught_error_gives_a_short_traceback_and_the_last_line(sandbox: Sandbox) -> None:
    result = run(sandbox, "def f():\n    return 1 / 0\nf()")
    assert result.error == "ZeroDivisionError: division by zero"
    assert "worker.py" not in result.output
    assert 'File "<repl-' in result.output


def test_syntax_error_is_reported(sandbox: Sandbox) -> None:
    result = run(sandbox, "def (:")
    assert result.error is not None and result.error.startswith("SyntaxError")


def test_get_var_and_show_vars(sandbox: Sandbox) -> None:
    run(sandbox, "import json\nnums = [1, 2]\nname = 'x'")
    assert sandbox.get_var("nums") == "[1, 2]"
    assert sandbox.get_var("missing") is None
    assert sandbox.show_vars() == {"nums": "list", "name": "str"}


def test_show_vars_in_code(sandbox: Sandbox) -> None:
    assert run(sandbox, "a = 1.5\nSHOW_VARS()").output == "{'a': 'float'}\n"


def test_context_list_of_many_documents(sandbox: Sandbox) -> None:
    docs = [f"document number {i}" for i in range(1_000)]
    sandbox.load_context(docs)
    result = run(sandbox, "len(context), context[0], context[-1]")
    assert result.output == repr((1_000, docs[0], docs[-1])) + "\n"


@pytest.mark.parametrize(
    "context", [["é€😀", "", "\x00\f"], "naïve \udcff text", ["a\nb", "ü"] * 3], ids=str
)
def test_context_arrives_exactly(sandbox: Sandbox, context: str | list[str]) -> None:
    sandbox.load_context(context)
    assert run(sandbox, "context").output == repr(context) + "\n"


def test_large_non_ascii_context_arrives_exactly(sandbox: Sandbox) -> None:
    """Sent a piece at a time: pieces end inside runs of multi-byte characters, one between a
    lone surrogate and its would-be pair, and documents of several sizes follow one another."""
    piece = 1 << 20
    docs = [
        "é" * (piece - 1) + "\ud83d" + "\ude00" + "€" * piece,
        "",
        "ascii " * 300_000,
        "😀" * (piece + 3),
    ]
    sandbox.load_context(docs)
    code = (
        "import hashlib\n"
        "[len(d) for d in context], hashlib.sha256("
        "'\\x00'.join(context).encode('utf-8', 'surrogatepass')).hexdigest()"
    )
    expected = hashlib.sha256("\x00".join(docs).encode("utf-8", "surrogatepass")).hexdigest()
    assert run(sandbox, code).output == repr(([len(d) for d in docs], expected)) + "\n"


def test_context_of_40_mb_loads(sandbox: Sandbox) -> None:
    sandbox.load_context("0123456789" * 4_000_000)
    assert run(sandbox, "len(context)").output == "40000000\n"


def test_load_context_before_start_is_kept() -> None:
    with Sandbox() as box:
        box.load_context("the corpus")
        assert run(box, "context").output == "'the corpus'\n"


@pytest.mark.parametrize("bad", [42, ["ok", 3], None])
def test_load_context_rejects_other_types(sandbox: Sandbox, bad: object) -> None:
    with pytest.raises(TypeError, match="list of str"):
        sandbox.load_context(bad)  # type: ignore[arg-type]


def test_output_of_threads_between_blocks_is_dropped_with_a_note(sandbox: Sandbox) -> None:
    from tests.test_sandbox_limits import WAIT_IDLE, _wait_for_a_message

    code = WAIT_IDLE + (
        "def talk():\n"
        "    wait_idle()\n"
        "    print('between blocks')\n"
        "    try:\n"
        "        llm_query('marker')  # a message the host sees: the print is done\n"
        "    except RuntimeError:\n"
        "        pass\n"
        "t = threading.Thread(target=talk)\n"
        "t.start()\n"
        "print('in block')"
    )
    assert run(sandbox, code).output == "in block\n"
    _wait_for_a_message(sandbox)
    result = run(sandbox, "t.join()\nprint('next')")
    assert "between blocks" not in result.output
    assert result.output.endswith("next\n")
    assert "15 characters printed while no block ran were dropped" in result.output


def test_a_spilled_context_is_sent_from_its_file_and_reloaded_after_a_restart(
    sandbox: Sandbox,
) -> None:
    """The host keeps no copy in memory (rlm_engine.held): the worker gets the text from the
    file, and so does a worker started again after the first one died."""
    docs = ["é" * ((1 << 20) - 1) + "\ud83d" + "€" * 5, "", "second"]
    held = HeldContext(docs)
    held.spill()
    sandbox.load_context(held)
    code = "[len(d) for d in context], context[0][-7:], context[2]"
    expected = repr(([len(d) for d in docs], docs[0][-7:], "second")) + "\n"
    assert run(sandbox, code).output == expected
    assert run(sandbox, "import os\nos._exit(1)").restarted
    assert run(sandbox, code).output == expected
    assert not held.in_memory
    assert sandbox.context_head(3) == "ééé"
    assert sandbox.context == docs  # a host-side check reads it back
