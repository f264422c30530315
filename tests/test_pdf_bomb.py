"""PDF decompression bombs: a 22 KB PDF whose content stream inflates to 10 MB of text made PDFium
take 1.6 GB in the host process (a bigger one took a process to 22 GB). Extraction now runs in a
child process with its address space capped and a deadline per file."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from rlm_engine.corpus import load_files
from rlm_testkit.pdf import bomb_pdf, make_pdf
from rlm_testkit.standin import StandIn

REPO = Path(__file__).resolve().parent.parent
GOOD = make_pdf(["The launch code is 7431.", "Second page."])
HOST_LIMIT = 1200 << 20  # main's in-process PDFium needed 1.6 GB for the 10 MB-text bomb

LOAD = """
import sys
from rlm_engine.corpus import load_paths
corpus = load_paths([sys.argv[1]])
print([d.name for d in corpus.documents])
print([p.message for p in corpus.problems])
"""


def _host_limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (HOST_LIMIT, HOST_LIMIT))


def test_a_10_mb_text_bomb_ends_in_a_problem_and_the_host_stays_small(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "bomb.pdf").write_bytes(bomb_pdf(10_000_000))
    (folder / "good.pdf").write_bytes(GOOD)
    env = {**os.environ, "RLM_PDF_MEMORY_MB": "512"}
    done = subprocess.run(
        [sys.executable, "-c", LOAD, str(folder)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, preexec_fn=_host_limit,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    names, problems = done.stdout.splitlines()[-2:]
    assert names == "['good.pdf']"
    assert "bomb.pdf: extracting its text needed more than 512 MB and was stopped" in problems


def test_pdf_text_past_the_document_cap_is_cut_with_a_notice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RLM_MAX_DOCUMENT_CHARS", "300000")
    corpus = load_files([("long.pdf", bomb_pdf(2_000_000, pages=10))])
    [doc] = corpus.documents
    assert doc.chars == 300_000 and doc.n_pages == 2  # page 2 cut; pages 3-10 never read
    assert any(
        "long.pdf: only the first 300,000 characters were loaded" in p.message and not p.fatal
        for p in corpus.problems
    )


def test_a_pdf_past_its_deadline_is_stopped_and_the_next_one_loads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RLM_PDF_TIMEOUT_S", "1")
    monkeypatch.setenv("RLM_PDF_MEMORY_MB", "4096")
    corpus = load_files([("slow.pdf", bomb_pdf(20_000_000, pages=20)), ("good.pdf", GOOD)])
    assert [d.name for d in corpus.documents] == ["good.pdf"]
    assert "slow.pdf: extracting its text took longer than 1 s and was stopped" in (
        corpus.problems[0].message
    )


def test_the_app_shows_a_bomb_as_a_problem_and_stays_up(
    standin_env: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_app_ask import open_ask, upload

    monkeypatch.setenv("RLM_PDF_MEMORY_MB", "512")
    at = upload(
        open_ask(),
        ("bomb.pdf", bomb_pdf(10_000_000), "application/pdf"),
        ("good.pdf", GOOD, "application/pdf"),
    )
    assert not at.exception
    assert any("bomb.pdf: extracting its text needed more than 512 MB" in e.value for e in at.error)
    assert {m.label: m.value for m in at.metric}["Documents"] == "1"
