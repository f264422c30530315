"""`rlm chat` as a real subprocess against the stand-in: through a pipe and a pseudo-terminal."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rlm_testkit.standin import StandIn

ROOT = "root-model"


def repl(code: str) -> str:
    return f"```repl\n{code}\n```"


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text("Juniper Energy renews on 2027-03-01.")
    (folder / "b.txt").write_text("Acme Corp renews on 2026-01-15.")
    return folder


def chat_args(corpus_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "rlm_cli", "chat", "--context", str(corpus_dir),
        "--provider", "openai", "--model", ROOT, "--exec-timeout", "30", *extra,
    ]  # fmt: skip


def test_pipe_each_line_is_a_question_and_variables_persist(
    standin_env: StandIn, corpus_dir: Path
) -> None:
    standin_env.enqueue(
        repl(
            "dates = [d.split(' on ')[1].rstrip('.') for d in context]\n"
            "print(context)\nprint(dates)"
        ),
        "FINAL_VAR(dates)",
        repl("print(len(dates))"),  # a follow-up that uses the first run's variable
        "FINAL(2)",
        model=ROOT,
    )
    proc = subprocess.run(
        chat_args(corpus_dir),
        input="Which renewal dates are there?\n/vars\n/sources\nHow many?\n/cost\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "['2027-03-01', '2026-01-15']"  # the answer, alone on its line
    assert "dates = ['2027-03-01', '2026-01-15']" in lines
    assert "[1] a.txt: Juniper Energy renews on 2027-03-01." in lines  # /sources
    assert "[2] b.txt: Acme Corp renews on 2026-01-15." in lines
    assert "2" in lines
    assert any(line.startswith("2 runs, 4 iterations") for line in lines)
    assert "[iteration 1]" in proc.stderr and "| print(len(dates))" in proc.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "rlm_cli", "runs", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    runs = json.loads(listed.stdout)
    assert sorted(r["question"] for r in runs) == ["How many?", "Which renewal dates are there?"]


def test_quiet_hides_the_log_and_model_text_cannot_drive_the_terminal(
    standin_env: StandIn, corpus_dir: Path
) -> None:
    standin_env.enqueue('FINAL("x\x1b]52;c;ZXZpbA==\x07y")', model=ROOT)
    proc = subprocess.run(
        chat_args(corpus_dir, "--quiet"), input="Q?\n", capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0
    assert proc.stderr == ""
    assert "\x1b" not in proc.stdout and "\\x1b]52" in proc.stdout


class Terminal:
    """`rlm chat` on a pseudo-terminal: type lines, read the screen's text."""

    def __init__(self, args: list[str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: become the chat
            os.execvpe(args[0], args, os.environ)
        self.screen = ""

    def read_until(self, text: str, timeout_s: float = 60) -> str:
        deadline = time.monotonic() + timeout_s
        while text not in self.screen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} not seen; screen:\n{self.screen[-2000:]}")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    self.screen += os.read(self.fd, 65536).decode(errors="replace")
                except OSError:
                    break
        return self.screen

    def type(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\r")

    def interrupt(self) -> None:
        os.write(self.fd, b"\x03")  # Ctrl+C, as the terminal sends it

    def wait(self, timeout_s: float = 30) -> int:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            with contextlib.suppress(OSError):
                os.read(self.fd, 65536)
            time.sleep(0.05)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError("rlm chat did not exit")


def test_terminal_follow_up_ctrl_c_and_quit(standin_env: StandIn, corpus_dir: Path) -> None:
    standin_env.enqueue(
        repl("n = len(context)\nprint(n)"),
        "FINAL_VAR(n)",
        repl("import time\nprint('waiting')\ntime.sleep(60)"),  # stopped by Ctrl+C
        repl("print(n * 10)"),  # the chat goes on, with the REPL's variables
        "FINAL(twenty)",
        model=ROOT,
    )
    term = Terminal(chat_args(corpus_dir))
    term.read_until("rlm> ")
    term.type("How many documents?")
    term.read_until("\n2\r\n")
    term.read_until("rlm> ")
    term.type("Wait for a minute")
    term.read_until("| time.sleep(60)")
    time.sleep(0.5)
    term.interrupt()
    term.read_until("(stopped)")
    term.read_until("rlm> ")
    term.type("Ten times that?")
    term.read_until("twenty")
    term.type("/quit")
    assert term.wait() == 0
    assert "-> 2 chars" in term.screen and "20" in term.screen


def test_sub_call_cache_answers_a_repeated_sub_call_from_the_database(
    standin_env: StandIn, corpus_dir: Path
) -> None:
    standin_env.on(lambda request: "2027-03-01", model="sub-model")
    block = repl("print(llm_query('When does it renew? ' + context[0]))")
    standin_env.enqueue(block, "FINAL(2027-03-01)", block, "FINAL(again)", model=ROOT)
    proc = subprocess.run(
        chat_args(corpus_dir, "--sub-model", "sub-model", "--sub-call-cache", "--quiet"),
        input="When?\n/new\nWhen, again?\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "again"
    assert [r.model for r in standin_env.requests].count("sub-model") == 1


def test_the_live_log_shows_each_sub_call_and_the_cost_so_far(
    standin_env: StandIn, corpus_dir: Path
) -> None:
    standin_env.on(lambda request: "2027-03-01", model="sub-model")
    block = repl("print(llm_query('When does it renew? ' + context[0]))")
    standin_env.enqueue(block, "FINAL(2027-03-01)", model=ROOT)
    proc = subprocess.run(
        chat_args(corpus_dir, "--sub-model", "sub-model"),
        input="When?\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"sub-call \w+: 10 chars", proc.stderr), proc.stderr
    assert "cost unknown so far" in proc.stderr  # the stand-in's models have no price
