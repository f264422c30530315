"""Hostile files in a --context folder or an upload: FIFOs, links to devices, sockets, files past
the size cap, binary files named .txt, UTF-16 without a byte-order mark.

The CLI runs as a real process under a memory limit (a link to /dev/zero read to its end would
otherwise eat the machine) and a timeout (a FIFO read would block for ever)."""

from __future__ import annotations

import json
import os
import random
import resource
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from rlm_engine.corpus import load_files, load_paths
from rlm_testkit.standin import StandIn

ROOT = "root-model"
TEXT = "The launch code is 7431.\nNothing else happened today.\n" * 20


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def ask(folder: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`rlm ask --context folder` as a real process, bounded in memory and time."""
    return subprocess.run(
        [sys.executable, "-m", "rlm_cli", "ask", "Code?", "--context", str(folder),
         "--model", ROOT, "--no-save", "--json"],
        capture_output=True, text=True, timeout=60, preexec_fn=_limited,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "corpus"
    path.mkdir()
    (path / "notes.txt").write_text(TEXT)
    return path


def test_a_fifo_and_a_link_to_dev_zero_are_skipped_by_the_cli(
    standin_env: StandIn, folder: Path
) -> None:
    os.mkfifo(folder / "pipe.txt")
    (folder / "zero.txt").symlink_to("/dev/zero")
    standin_env.enqueue("FINAL(7431)", model=ROOT)
    proc = ask(folder)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["answer"] == "7431"
    assert "pipe.txt is a named pipe (FIFO), not a regular file: skipped" in proc.stderr
    assert "zero.txt is a device (through a symbolic link), not a regular file" in proc.stderr


def test_a_socket_is_skipped_with_a_notice(folder: Path) -> None:
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(folder / "sock.txt"))
        corpus = load_paths([folder])
    assert [d.name for d in corpus.documents] == ["notes.txt"]
    assert any("sock.txt is a socket" in p.message and p.fatal for p in corpus.problems)


def test_a_file_over_the_size_cap_is_refused_by_the_cli(standin_env: StandIn, folder: Path) -> None:
    with (folder / "huge.txt").open("wb") as f:
        f.truncate(3 * 1024 * 1024)  # sparse: 3 MB of NUL bytes, over a 2 MB cap
    standin_env.enqueue("FINAL(7431)", model=ROOT)
    proc = ask(folder, env={"RLM_MAX_FILE_MB": "2"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "huge.txt is 3.0 MB, over the limit of 2 MB per file: skipped" in proc.stderr


def test_an_upload_over_the_size_cap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RLM_MAX_FILE_MB", "1")
    corpus = load_files([("big.txt", b"a" * (2 * 1024 * 1024)), ("ok.txt", TEXT.encode())])
    assert [d.name for d in corpus.documents] == ["ok.txt"]
    assert [p.message for p in corpus.problems] == [
        "big.txt is 2.0 MB, over the limit of 1 MB per file: skipped. Split it, or raise "
        "RLM_MAX_FILE_MB."
    ]


def test_a_text_file_past_the_document_cap_is_cut_with_a_notice(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RLM_MAX_DOCUMENT_CHARS", "100")
    corpus = load_paths([folder / "notes.txt"])
    assert corpus.documents[0].text == TEXT[:100]
    assert any("notes.txt: only the first 100 of its" in p.message for p in corpus.problems)


def random_bytes(n: int) -> bytes:
    return random.Random(7).randbytes(n)


def test_random_bytes_named_txt_are_skipped_with_a_notice(folder: Path) -> None:
    (folder / "random.txt").write_bytes(random_bytes(50_000))
    corpus = load_paths([folder])
    assert [d.name for d in corpus.documents] == ["notes.txt"]
    [problem] = [p for p in corpus.problems if p.name == "random.txt"]
    assert problem.fatal and "random.txt does not look like text" in problem.message


def test_binary_without_nul_bytes_is_skipped_too() -> None:
    data = bytes(b for b in random_bytes(60_000) if b)  # no NUL: only the decoded share tells
    corpus = load_files([("blob.txt", data)])
    assert corpus.documents == ()
    assert "undecodable or control characters" in corpus.problems[0].message


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_is_decoded(folder: Path, encoding: str) -> None:
    text = "Café meeting — the launch code is 7431.\n" * 50
    (folder / "wide.txt").write_bytes(text.encode(encoding))
    corpus = load_paths([folder / "wide.txt"])
    assert corpus.documents[0].text == text
    assert any(encoding.upper() in p.message and not p.fatal for p in corpus.problems)


def test_the_app_summary_names_binary_and_utf16_files(standin_env: StandIn) -> None:
    from tests.test_app_ask import open_ask, upload

    text = "Wide text, no byte-order mark.\n" * 10
    at = upload(
        open_ask(),
        ("random.txt", random_bytes(50_000), "text/plain"),
        ("wide.txt", text.encode("utf-16-le"), "text/plain"),
    )
    assert not at.exception
    assert any("random.txt does not look like text" in e.value for e in at.error)
    assert any("wide.txt was read as UTF-16-LE" in w.value for w in at.warning)
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Documents"], metrics["Characters"]) == ("1", f"{len(text):,}")
