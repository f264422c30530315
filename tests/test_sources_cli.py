"""`rlm ask --json` gains "sources"; the text output and `rlm runs show` list them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlm_engine.corpus import load_paths
from rlm_testkit.pdf import make_pdf
from rlm_testkit.standin import StandIn
from tests.test_cli_ask import ROOT, repl, rlm
from tests.test_sources_storage import PAGES


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    folder = tmp_path / "ledger"
    folder.mkdir()
    (folder / "a-ledger.pdf").write_bytes(make_pdf(PAGES))
    (folder / "b-notes.txt").write_text("Plain notes.\nThe harbour master retired in 2026.\n")
    return folder


SEARCH = "d = context[0]\ni = d.index('Invoice')\nprint(repr(d[i - 40 : i + 60]))"


def test_ask_json_lists_sources_with_exact_offsets(
    standin_env: StandIn, ledger: Path, tmp_path: Path
) -> None:
    standin_env.enqueue(repl(SEARCH), "FINAL(Acme Corp paid invoice 99812.)", model=ROOT)
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    proc = rlm(
        "ask", "Who paid invoice 99812?", "--context", str(ledger), "--provider", "openai",
        "--model", ROOT, "--json", "--db", db,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["answer"] == "Acme Corp paid invoice 99812."
    (source,) = out["sources"]
    assert list(source) == ["document", "document_index", "page", "start", "end", "text"]
    assert (source["document"], source["document_index"], source["page"]) == (
        "a-ledger.pdf", 0, 2,
    )  # fmt: skip
    context = load_paths([ledger]).context
    assert context[0][source["start"] : source["end"]] == source["text"]
    assert "Invoice 99812" in source["text"]

    shown = rlm("runs", "show", out["run_id"], "--db", db)
    assert shown.returncode == 0, shown.stderr
    assert "passages: a-ledger.pdf, page 2, characters" in shown.stdout
    assert "Sources:\n  [1] a-ledger.pdf, page 2, characters" in shown.stdout
    as_json = json.loads(rlm("runs", "show", out["run_id"], "--db", db, "--json").stdout)
    assert as_json["sources"][0]["text"] == source["text"]


def test_text_output_lists_sources_after_the_answer(standin_env: StandIn, ledger: Path) -> None:
    standin_env.enqueue(repl(SEARCH), "FINAL(Acme Corp paid it.)", model=ROOT)
    proc = rlm("ask", "Who paid?", "--context", str(ledger), "--model", ROOT, "--no-save")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:3] == ["Acme Corp paid it.", "", "Sources:"]
    assert lines[3].startswith("  [1] a-ledger.pdf, page 2, characters ")
    assert "Invoice 99812 was paid on 3 March 2027 by Acme Corp." in lines[4]


def test_an_answer_without_support_says_so(standin_env: StandIn, ledger: Path) -> None:
    standin_env.enqueue(repl("print(len(context))"), "FINAL(Nobody paid 55555.)", model=ROOT)
    proc = rlm("ask", "Who paid?", "--context", str(ledger), "--model", ROOT, "--no-save")
    assert proc.stdout.splitlines()[2] == (
        "Sources: none (no passage of the corpus contains this answer)."
    )
    standin_env.enqueue(repl("print(len(context))"), "FINAL(Nobody paid 55555.)", model=ROOT)
    proc = rlm("ask", "Who?", "--context", str(ledger), "--model", ROOT, "--no-save", "--json")
    assert json.loads(proc.stdout)["sources"] == []
