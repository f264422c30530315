"""Pure parts of storage: secret scrubbing, writer liveness, and what storage imports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from storage.scrub import scrub
from storage.writer import writer_alive, writer_token


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"api_key": "sk-1"}, {"api_key": "[redacted]"}),
        (
            {"anthropic_api_key": "x", "password": "p"},
            {"anthropic_api_key": "[redacted]", "password": "[redacted]"},
        ),
        (
            {"budgets": {"max_tokens": 5, "input_tokens": 3}},
            {"budgets": {"max_tokens": 5, "input_tokens": 3}},
        ),
        ({"api_key": None}, {"api_key": None}),
        ({"items": [{"token": "t"}]}, {"items": [{"token": "[redacted]"}]}),
        ({"monkey": 1, "keyboard": 2}, {"monkey": 1, "keyboard": 2}),
    ],
)
def test_scrub_replaces_secret_looking_keys(value: dict, expected: dict) -> None:
    assert scrub(value) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:sk-1@host/v1", "https://[redacted]@host/v1"),
        ("https://host/v1?key=abc&x=1", "https://host/v1?key=[redacted]&x=1"),
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
    ],
)
def test_scrub_removes_credentials_from_urls_in_settings(url: str, expected: str) -> None:
    assert scrub({"base_url": url}, urls=True) == {"base_url": expected}


def test_model_text_with_urls_is_kept_as_written() -> None:
    assert scrub({"prompt": "see https://u:p@host"}) == {"prompt": "see https://u:p@host"}


def test_this_process_is_a_live_writer() -> None:
    assert writer_alive(writer_token()) is True


def test_a_reaped_process_is_a_dead_writer() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    token = writer_token(child.pid)
    child.kill()
    child.wait()
    assert writer_alive(token) is False


def test_a_recycled_pid_is_a_dead_writer() -> None:
    host, boot, pid, _start = writer_token().split("|")
    assert writer_alive(f"{host}|{boot}|{pid}|1") is False


def test_a_writer_on_another_host_is_not_judged() -> None:
    _host, boot, pid, start = writer_token().split("|")
    assert writer_alive(f"not-{socket.gethostname()}|{boot}|{pid}|{start}") is None


def test_storage_imports_no_streamlit_and_no_engine_internals() -> None:
    """Only the engine's public leaf modules (errors, and what its package imports) load."""
    allowed = "('rlm_engine', 'rlm_engine.errors', 'rlm_engine.config', 'rlm_engine.events')"
    code = (
        "import sys, storage, storage.database; "
        "print(sorted(m for m in sys.modules if m.startswith(('streamlit', 'rlm_engine'))"
        f" and m not in {allowed}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=os.getcwd()
    )
    assert done.stdout.strip() == "[]"
