"""Model text cannot drive the terminal: `rlm ask` and `rlm runs` as real subprocesses.

The stand-in's replies carry OSC 52 (clipboard write), OSC 8 (a hidden link), NUL, a one-byte
CSI, a bidi override and cursor-up + erase-line (which forged a line "FAKE: all tests passed").
Every byte printed must be free of control characters but newline and tab; the payload shows as
visible escapes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rlm_cli.terminal import for_terminal, json_for_terminal
from rlm_testkit.standin import StandIn
from tests.test_cli_ask import ROOT, repl, rlm

HOSTILE = (
    "ok\x1b]52;c;ZXZpbA==\x07 \x1b]8;;http://evil.example/\x07click\x1b]8;;\x07 nul\x00 "
    "\x1b[1A\x1b[2KFAKE: all tests passed\r\x9b31m \u202eevil\ttabbed\nsecond line"
)


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    (tmp_path / "notes.txt").write_text("The meeting is on Tuesday.")
    return tmp_path / "notes.txt"


CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def test_for_terminal_escapes_controls_and_keeps_lines_and_tabs() -> None:
    shown = for_terminal(HOSTILE)
    assert CONTROL.search(shown) is None
    assert "\\x1b]52;c;ZXZpbA==\\x07" in shown and "\\x00" in shown and "\\u202e" in shown
    assert "\ttabbed\nsecond line" in shown
    assert for_terminal("a\r\nb") == "a\nb"


def test_json_for_terminal_is_the_same_json_value() -> None:
    encoded = json.dumps({"answer": HOSTILE}, ensure_ascii=False)
    safe = json_for_terminal(encoded)
    assert CONTROL.search(safe) is None
    assert json.loads(safe) == {"answer": HOSTILE}


def script(standin: StandIn) -> None:
    standin.enqueue(
        f"Reading. {HOSTILE}\n" + repl(f"print({HOSTILE!r})\nraise ValueError({HOSTILE!r})"),
        repl(f"FINAL({HOSTILE!r})"),
        model=ROOT,
    )


@pytest.mark.parametrize("as_json", [False, True])
def test_rlm_ask_prints_no_control_character(
    standin_env: StandIn, corpus_dir: Path, as_json: bool
) -> None:
    script(standin_env)
    proc = rlm(
        "ask", "Q?", "--context", str(corpus_dir), "--model", ROOT, *(["--json"] if as_json else [])
    )
    assert proc.returncode == 0, proc.stderr
    assert CONTROL.search(proc.stdout) is None, repr(proc.stdout)
    assert CONTROL.search(proc.stderr) is None, repr(proc.stderr)
    if as_json:
        assert json.loads(proc.stdout)["answer"] == HOSTILE  # the same value, escaped
    else:
        assert "\\x1b[1A\\x1b[2KFAKE: all tests passed" in proc.stdout
        assert "\\x1b" in proc.stderr  # the code block's error, in the progress lines


def test_rlm_runs_show_and_list_print_no_control_character(
    standin_env: StandIn, corpus_dir: Path
) -> None:
    script(standin_env)
    question = HOSTILE.replace("\x00", "")  # argv cannot hold NUL
    asked = rlm("ask", question, "--context", str(corpus_dir), "--model", ROOT, "--json")
    run_id = json.loads(asked.stdout)["run_id"]
    shown = rlm("runs", "show", run_id)
    assert shown.returncode == 0, shown.stderr
    assert CONTROL.search(shown.stdout) is None, repr(shown.stdout)
    # the question, the reply, the code, its output and error, the answer: all escaped
    assert shown.stdout.count("\\x1b]52;c;ZXZpbA==\\x07") >= 5
    listed = rlm("runs", "list")
    assert CONTROL.search(listed.stdout) is None and "\\x1b]52" in listed.stdout
    exported = rlm("runs", "export", run_id)
    assert CONTROL.search(exported.stdout) is None
    assert json.loads(exported.stdout)["run"]["question"] == question
