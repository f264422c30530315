"""Pure parts of storage: secret scrubbing, writer liveness, and what storage imports."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

import pytest

from rlm_engine.redact import is_secret_key, redact
from storage.liveness import writer_alive, writer_token
from storage.scrub import scrub


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


@pytest.mark.parametrize(
    "name",
    [
        "api_key",
        "apiKey",
        "x-api-key",
        "OPENAI_API_KEY",
        "token",
        "access_token",
        "accessToken",
        "refresh_token",
        "secret",
        "client_secret",
        "password",
        "db_password",
        "authorization",
        "auth",
        "key",
        "credentials",
        "cookie",
    ],
)
def test_secret_names_are_recognised(name: str) -> None:
    assert is_secret_key(name)


@pytest.mark.parametrize(
    "name",
    [
        "sort_key",
        "max_key",
        "basic_auth",
        "use_auth",
        "max_tokens",
        "eos_token",
        "tokens",
        "keyboard",
        "monkey",
        "author",
        "secretary",
        "passed",
    ],
)
def test_harmless_names_are_kept(name: str) -> None:
    assert not is_secret_key(name)


def test_secret_query_parameters_are_redacted_and_others_kept() -> None:
    url = "https://h/v1?access-token=a&auth=b&key=c&sort_key=d&page=2&api_key=e#top"
    assert scrub_url_in_settings(url) == (
        "https://h/v1?access-token=[redacted]&auth=[redacted]&key=[redacted]&sort_key=d"
        "&page=2&api_key=[redacted]#top"
    )


def scrub_url_in_settings(url: str) -> str:
    return scrub({"base_url": url}, urls=True)["base_url"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "401 Incorrect API key provided: sk-proj-abcdefghijklmnop1234 at "
            "https://user:pass@host/v1?api_key=zzz",
            "401 Incorrect API key provided: [redacted] at https://[redacted]@host/v1?api_key="
            "[redacted]",
        ),
        ("key sk-proj-********************1234 refused", "key [redacted] refused"),
        ("bad x-api-key: sk-ant-api03-abcdefgh", "bad x-api-key: [redacted]"),
        (
            "header Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig",
            "header Authorization: Bearer [redacted]",
        ),
        ("retry at https://u:p@host/v1 later", "retry at https://[redacted]@host/v1 later"),
        ("password=hunter22 rejected", "password=[redacted] rejected"),
        ("access_token=ab:cd; retry.", "access_token=[redacted]; retry."),
        ("(see https://h/x?token=abcd).", "(see https://h/x?token=[redacted])."),
        ("max_tokens: 4096 exceeded; missing bearer authentication", None),
        ("task-forcefully failed after 3 tries", None),
        # what the provider errors' redactor knew besides: short sk- keys and long tokens
        ("key sk-ab12 refused", "key [redacted] refused"),
        ("Invalid key gsk_8f2k1q9z0x7c6v5b4n3m2l1k0j9h8g7f6d5s", "Invalid key [redacted]"),
        ("name 'a_variable_with_a_long_long_long_name' is not defined", None),
    ],
)
def test_free_text_loses_keys_and_url_credentials(text: str, expected: str | None) -> None:
    assert redact(text) == (text if expected is None else expected)


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
    host, boot, namespace, pid, _start = writer_token().split("|")
    assert writer_alive(f"{host}|{boot}|{namespace}|{pid}|1") is False


def test_a_writer_from_before_a_reboot_is_dead() -> None:
    host, _boot, namespace, pid, start = writer_token().split("|")
    assert writer_alive(f"{host}|another-boot|{namespace}|{pid}|{start}") is False


def test_a_writer_on_another_host_is_not_judged() -> None:
    _host, rest = writer_token().split("|", 1)
    assert writer_alive(f"not-{socket.gethostname()}|{rest}") is None


def test_a_writer_in_another_pid_namespace_is_not_judged() -> None:
    """A process in its own PID namespace (as in a container sharing our hostname and boot id)
    numbers its pids apart: its token says nothing about our processes, alive or not."""
    if shutil.which("unshare") is None:
        pytest.skip("needs util-linux unshare")
    code = "from storage.liveness import writer_token; print(writer_token())"
    done = subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=os.getcwd(),
    )
    if done.returncode != 0:
        pytest.skip(f"cannot make a PID namespace here: {done.stderr.strip()[-200:]}")
    token = done.stdout.strip()
    host, boot, namespace, _pid, _start = writer_token().split("|")
    assert token.split("|")[:2] == [host, boot] and token.split("|")[2] != namespace
    assert writer_alive(token) is None  # that process has exited: still not judged "dead"


def test_a_token_without_a_namespace_is_not_judged() -> None:
    host, boot, _namespace, pid, start = writer_token().split("|")
    assert writer_alive(f"{host}|{boot}|{pid}|{start}") is None


def test_storage_imports_no_streamlit_and_no_engine_internals() -> None:
    """Only the engine's pure leaf modules (errors, events, the fold, the redactor, the text rule
    storable() shares, and what its package imports: its config and the provider registry, which
    names classes without importing them) load."""
    allowed = (
        "('rlm_engine', 'rlm_engine.errors', 'rlm_engine.config', 'rlm_engine.events', "
        "'rlm_engine.trace', 'rlm_engine.parsing', 'rlm_engine.redact', 'rlm_engine.text', "
        "'rlm_engine.providers', "
        "'rlm_engine.providers.base', 'rlm_engine.providers.registry')"
    )
    code = (
        "import sys, storage, storage.database; "
        "print(sorted(m for m in sys.modules if m.startswith(('streamlit', 'rlm_engine'))"
        f" and m not in {allowed}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=os.getcwd()
    )
    assert done.stdout.strip() == "[]"
