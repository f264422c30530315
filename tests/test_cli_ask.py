"""`rlm ask` as a real subprocess: the CLI contract of docs/contract.md, against the stand-in."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from rlm_testkit.standin import StandIn

ROOT = "root-model"
SUB = "sub-model"


def rlm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rlm_cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text("alpha " * 100)
    (folder / "b.md").write_text("The meeting is on Tuesday.")
    return folder


def repl(code: str) -> str:
    return f"```repl\n{code}\n```"


def test_ask_json_reports_the_run(standin_env: StandIn, corpus_dir: Path) -> None:
    standin_env.on(lambda req: "Tuesday", model=SUB)
    standin_env.enqueue(
        repl("day = llm_query(context[1])\nprint(day)"), "FINAL_VAR(day)", model=ROOT
    )
    proc = rlm(
        "ask", "When is the meeting?", "--context", str(corpus_dir),
        "--provider", "openai", "--model", ROOT, "--sub-model", SUB, "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) == {
        "run_id", "status", "answer", "iterations", "sub_calls",
        "input_tokens", "output_tokens", "cost_usd", "elapsed_s", "method", "sources",
        "cached_tokens", "cache_write_tokens",
    }  # fmt: skip
    assert (out["status"], out["answer"], out["iterations"], out["sub_calls"]) == (
        "completed", "Tuesday", 2, 1,
    )  # fmt: skip
    assert out["method"] == "rlm"  # the default: programs that drive the CLI expect an RLM run
    assert out["input_tokens"] > 0 and out["output_tokens"] > 0
    # the documents arrived in sorted order, one string each
    assert "Tuesday" in standin_env.requests[1].prompt


def test_ask_saves_the_run_by_default(standin_env: StandIn, corpus_dir: Path) -> None:
    standin_env.enqueue("FINAL(saved)", model=ROOT)
    proc = rlm("ask", "Q?", "--context", str(corpus_dir), "--model", ROOT, "--json")
    run_id = json.loads(proc.stdout)["run_id"]
    shown = rlm("runs", "show", run_id, "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["run"]["answer"] == "saved"


def test_a_database_locked_mid_run_is_a_warning_not_a_failure(
    standin_env: StandIn, corpus_dir: Path, tmp_path: Path
) -> None:
    db_file = tmp_path / "locked.db"
    holders: list[sqlite3.Connection] = []

    first_turns = iter(["```repl\nprint('first turn')\n```"])

    def lock_then_answer(request: object) -> str:
        first = next(first_turns, None)
        if first is not None:  # the database opens at the first reply (rlm_cli.recording)
            return first
        if not holders:  # the run's row exists by now; everything after it must wait
            holder = sqlite3.connect(db_file, isolation_level=None, check_same_thread=False)
            holder.execute("BEGIN IMMEDIATE")
            holders.append(holder)
        return "FINAL(kept going)"

    standin_env.on(lock_then_answer, model=ROOT)
    proc = rlm(
        "ask", "Q?", "--context", str(corpus_dir), "--model", ROOT, "--json",
        "--db", f"sqlite:///{db_file}",
    )  # fmt: skip
    holders[0].close()
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["answer"] == "kept going"
    assert f"events of run {out['run_id']} could not be saved" in proc.stderr
    assert "locked by another program" in proc.stderr  # the real cause, not a guess


def test_no_save_writes_no_database(
    standin_env: StandIn, corpus_dir: Path, isolated_env: Path
) -> None:
    standin_env.enqueue("FINAL(x)", model=ROOT)
    proc = rlm("ask", "Q?", "--context", str(corpus_dir), "--model", ROOT, "--no-save", "--json")
    assert proc.returncode == 0, proc.stderr
    assert not (isolated_env / "rlm.db").exists()


def test_failed_run_exits_1_with_error(standin_env: StandIn, corpus_dir: Path) -> None:
    standin_env.fail(500, times=100, model=ROOT)
    proc = rlm("ask", "Q?", "--context", str(corpus_dir), "--model", ROOT, "--no-save", "--json")
    out = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert out["status"] == "failed" and "500" in out["error"]


def test_budget_ends_with_limit_and_exit_0(standin_env: StandIn, corpus_dir: Path) -> None:
    standin_env.enqueue(repl("print(1)"), "FINAL(best effort)", model=ROOT)
    proc = rlm(
        "ask", "Q?", "--context", str(corpus_dir), "--model", ROOT,
        "--max-iterations", "1", "--no-save", "--json",
    )  # fmt: skip
    out = json.loads(proc.stdout)
    assert (proc.returncode, out["status"], out["answer"]) == (0, "limit", "best effort")


@pytest.mark.parametrize(
    "args",
    [
        ["ask", "Q?"],  # --context missing
        ["ask", "Q?", "--context", "x", "--provider", "nope"],
        ["ask", "Q?", "--context", "x", "--max-iterations", "0"],
        ["ask", "Q?", "--context", "x", "--db", "sqlite://", "--no-save"],
    ],
)
def test_bad_usage_exits_2(args: list[str]) -> None:
    assert rlm(*args).returncode == 2


def test_unreadable_context_exits_2_and_says_why(tmp_path: Path) -> None:
    proc = rlm("ask", "Q?", "--context", str(tmp_path / "missing.txt"), "--no-save")
    assert proc.returncode == 2
    assert "missing.txt" in proc.stderr


def test_human_output_prints_the_answer(standin_env: StandIn, corpus_dir: Path) -> None:
    standin_env.enqueue(repl("print(len(context))"), "FINAL(two documents)", model=ROOT)
    proc = rlm("ask", "Q?", "--context", str(corpus_dir), "--model", ROOT, "--no-save")
    assert proc.returncode == 0
    assert proc.stdout.splitlines()[0] == "two documents"  # then its sources
    assert "iteration 1" in proc.stderr


def test_base_url_flag_wins_over_environment(standin: StandIn, corpus_dir: Path) -> None:
    standin.enqueue("FINAL(via flag)", model=ROOT)
    env = {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    proc = rlm(
        "ask", "Q?", "--context", str(corpus_dir), "--provider", "openai", "--model", ROOT,
        "--base-url", standin.openai_base_url, "--no-save", "--json", env=env,
    )  # fmt: skip
    assert json.loads(proc.stdout)["answer"] == "via flag"


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--max-cost", "-1"),
        ("--max-cost", "lots"),
        ("--timeout", "-5"),
        ("--timeout", "0"),
        ("--exec-timeout", "0"),
        ("--request-timeout", "-1"),
        ("--max-iterations", "-3"),
        ("--max-sub-calls", "-1"),
        ("--max-tokens", "0"),
        ("--price", "root-model=1"),
        ("--price", "root-model=-1,2"),
    ],
)
def test_bad_budget_values_exit_2_and_name_the_flag(
    standin_env: StandIn, corpus_dir: Path, flag: str, value: str
) -> None:
    standin_env.enqueue("FINAL(ran anyway)", model=ROOT)
    proc = rlm(
        "ask", "Q?", "--context", str(corpus_dir), "--model", ROOT, "--no-save", "--json",
        flag, value,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stdout
    assert f"argument {flag}:" in proc.stderr and value in proc.stderr


def test_unenforceable_cost_budget_is_a_warning_on_stderr(
    standin_env: StandIn, corpus_dir: Path
) -> None:
    standin_env.enqueue("FINAL(x)", model=ROOT)
    args = ["ask", "Q?", "--context", str(corpus_dir), "--model", ROOT, "--no-save", "--json"]
    proc = rlm(*args, "--max-cost", "1")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["answer"] == "x"
    assert "cannot be enforced" in proc.stderr and ROOT in proc.stderr


def test_price_flag_prices_the_run(standin_env: StandIn, corpus_dir: Path) -> None:
    standin_env.enqueue("FINAL(x)", model=ROOT)
    args = ["ask", "Q?", "--context", str(corpus_dir), "--model", ROOT, "--no-save", "--json"]
    proc = rlm(*args, "--max-cost", "1", "--price", f"{ROOT}=1000000,0")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["cost_usd"] == out["input_tokens"]  # $1,000,000 per million input tokens
    assert "cannot be enforced" not in proc.stderr


def test_method_direct_reads_the_corpus_in_one_call(standin_env: StandIn, corpus_dir: Path) -> None:
    standin_env.enqueue("Tuesday", model=ROOT)
    proc = rlm(
        "ask", "When is the meeting?", "--context", str(corpus_dir), "--provider", "openai",
        "--model", ROOT, "--method", "direct", "--no-save", "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["method"], out["answer"], out["iterations"]) == ("direct", "Tuesday", 1)
    assert "The meeting is on Tuesday." in standin_env.requests[0].prompt


def test_method_auto_with_a_window_reads_a_small_corpus_directly(
    standin_env: StandIn, corpus_dir: Path
) -> None:
    standin_env.enqueue("Tuesday", model=ROOT)
    proc = rlm(
        "ask", "When is the meeting?", "--context", str(corpus_dir), "--provider", "openai",
        "--model", ROOT, "--method", "auto", "--window-tokens", "16384", "--no-save",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "Tuesday"  # then its sources
    assert "method: read directly: about 179 tokens fit the 16,384-token window." in proc.stderr


@pytest.mark.parametrize(
    "flags", [["--method", "sometimes"], ["--window-tokens", "0"], ["--direct-threshold", "-1"]]
)
def test_bad_router_flags_are_usage_errors(corpus_dir: Path, flags: list[str]) -> None:
    proc = rlm("ask", "q", "--context", str(corpus_dir), "--no-save", *flags)
    assert proc.returncode == 2
    assert flags[0] in proc.stderr


def test_a_fallback_answer_is_marked_in_json(standin_env: StandIn, corpus_dir: Path) -> None:
    standin_env.on(lambda req: "Tuesday" if "Tuesday" in req.prompt else "NO_ANSWER", model=SUB)
    standin_env.on(lambda req: "I am not sure.", model=ROOT)  # idles: 3 replies, then fallback
    proc = rlm(
        "ask", "When is the meeting?", "--context", str(corpus_dir), "--provider", "openai",
        "--model", ROOT, "--sub-model", SUB, "--prompt-variant", "small", "--no-save", "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["answer"], out["fallback"], out["iterations"]) == ("Tuesday", True, 3)


@pytest.mark.parametrize("flag", [["--fallback", "off"], ["--no-stall-guards"]])
def test_the_fallback_can_be_switched_off(
    standin_env: StandIn, corpus_dir: Path, flag: list[str]
) -> None:
    standin_env.on(lambda req: "Tuesday", model=SUB)
    standin_env.on(lambda req: "I am not sure.", model=ROOT)
    proc = rlm(
        "ask", "When is the meeting?", "--context", str(corpus_dir), "--provider", "openai",
        "--model", ROOT, "--sub-model", SUB, "--prompt-variant", "small", "--no-save", "--json",
        "--max-iterations", "4", *flag,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["status"], out["sub_calls"], "fallback" in out) == ("limit", 0, False)


def test_ask_keeps_the_corpus_text_in_a_file_not_in_memory(
    isolated_env: Path, tmp_path: Path
) -> None:
    """The host's copy of the corpus is in a file for the whole run (rlm_engine.held): 40 MiB
    less in the process tree at 40M characters (bench/README.md); the documents keep their
    names, kinds and digests."""
    from rlm_cli import build_parser
    from rlm_cli.ask import set_up

    notes = tmp_path / "notes.txt"
    notes.write_text("naïve notes")
    args = build_parser().parse_args(["ask", "Q?", "--context", str(notes), "--no-save"])
    setup = set_up(args, spill=True)
    assert setup is not None and setup.spilling is not None
    try:
        setup.spilling.join(60)  # written in a thread, beside the run's first request
        assert not setup.held.in_memory
        (doc,) = setup.corpus.documents
        assert (doc.name, doc.kind, doc.text) == (str(notes), "text", "")
        assert setup.held.get() == "naïve notes"
    finally:
        setup.close()
        setup.held.close()


def test_ask_saves_the_corpus_exactly_from_its_file(
    standin_env: StandIn, isolated_env: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    texts = {"a.txt": "é€😀 " * 300_000, "b.txt": "plain", "c.md": "ünïcode\n"}
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    standin_env.enqueue("FINAL(saved)", model=ROOT)
    proc = rlm("ask", "Q?", "--context", str(folder), "--model", ROOT, "--json")
    assert proc.returncode == 0, proc.stderr
    from storage import Database

    with Database.open(f"sqlite:///{isolated_env / 'rlm.db'}") as db:
        (corpus,) = db.list_corpora()
        assert db.corpus_context(corpus.id) == list(texts.values())


MALLOC_PROBE = """
import ctypes, sys
from rlm_cli.ask import fix_malloc_thresholds

FIELDS = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"

class MallInfo(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in FIELDS.split()]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo
fixed = fix_malloc_thresholds() if sys.argv[1] == "fixed" else None
big = bytearray(8 << 20)
del big  # glibc, left alone, now keeps blocks below 8 MiB in its heap
mapped = libc.mallinfo2().hblks
block = bytearray(1 << 20)
print(fixed, libc.mallinfo2().hblks - mapped)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt and mallinfo2")
@pytest.mark.parametrize(("mode", "expected"), [("fixed", "True 1"), ("default", "None 0")])
def test_large_temporaries_are_mapped_and_given_back(mode: str, expected: str) -> None:
    """`rlm ask` keeps glibc's malloc thresholds fixed: a 1 MiB block is mapped (and unmapped
    when freed) even after a larger one was freed, which otherwise raises the threshold."""
    proc = subprocess.run(
        [sys.executable, "-c", MALLOC_PROBE, mode], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == expected.split()


def test_a_sandbox_that_cannot_start_fails_the_run_with_its_reason(
    standin_env: StandIn, corpus_dir: Path
) -> None:
    """The sandbox loads the corpus beside the first model request; when it cannot start, the
    first block's run ends failed with the sandbox's reason, saved like any other run."""
    standin_env.enqueue(repl("print(len(context))"), model=ROOT)
    proc = rlm(
        "ask", "How long?", "--context", str(corpus_dir), "--model", ROOT, "--json",
        env={"RLM_SANDBOX_ISOLATION": "chroot"},
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    assert out["status"] == "failed"
    assert "RLM_SANDBOX_ISOLATION='chroot'" in out["error"]
    shown = rlm("runs", "show", out["run_id"], "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["run"]["status"] == "failed"
