"""The sandbox as most users run it: not root. And the weakest fallback, forced.

Under root (our CI) the non-root path is exercised by running a probe as an unprivileged system
user through `runuser`: it starts a Sandbox while holding a planted key and reports what model
code could reach (see `probe_main` in tests/fixtures/sandbox.py).
"""

from __future__ import annotations

import json
import logging
import os
import pwd
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rlm_engine.errors import SandboxError
from rlm_engine.sandbox import Sandbox
from rlm_engine.sandbox.launch import FORCE_VAR
from tests.fixtures.sandbox import PLANTED_KEY, Recorder

pytestmark = pytest.mark.timeout(180)

REPO = Path(__file__).resolve().parent.parent
TEST_USER = "rlm-sandbox-test"
PROBE = "import sys; sys.path.insert(0, '.'); import tests.fixtures.sandbox as f; f.probe_main()"
CHECKS = "import sys; sys.path.insert(0, '.'); import tests.fixtures.sandbox as f; f.checks_main()"


def _as_user(
    python: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/", "LANG": "C.UTF-8"}
    cmd = [
        "runuser",
        "-u",
        TEST_USER,
        "--",
        "env",
        "-i",
        *(f"{k}={v}" for k, v in {**base, **(env or {})}.items()),
    ]
    return subprocess.run(
        [*cmd, python, *args], cwd=REPO, capture_output=True, text=True, timeout=150
    )


@pytest.fixture(scope="session")
def user_python() -> str:
    """An interpreter the unprivileged test user can run, with this repo importable."""
    if os.geteuid() != 0:
        pytest.skip("not root: every other sandbox test already runs the non-root path")
    if not (
        sys.platform.startswith("linux") and shutil.which("runuser") and shutil.which("useradd")
    ):
        pytest.skip("needs Linux with runuser and useradd")
    try:
        pwd.getpwnam(TEST_USER)
    except KeyError:
        if os.environ.get("CI") != "true" and os.environ.get("RLM_TEST_CREATE_USER") != "1":
            pytest.skip(
                f"no user {TEST_USER!r}: set CI=true or RLM_TEST_CREATE_USER=1 to create it"
            )
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TEST_USER],
            check=True,
        )
    candidates = [os.path.realpath(sys.executable), shutil.which("python3"), "/usr/bin/python3"]
    for python in dict.fromkeys(c for c in candidates if c):
        if _as_user(python, "-c", "import rlm_engine.sandbox").returncode == 0:
            return python
    pytest.skip(f"{TEST_USER} cannot run a Python that imports {REPO} (is the repo readable?)")


_reports: dict[str, dict[str, Any]] = {}


def probe(python: str, mode: str) -> dict[str, Any]:
    """What model code could reach in a sandbox started by the unprivileged user (cached)."""
    if mode not in _reports:
        env = {FORCE_VAR: mode} if mode != "default" else {}
        with socket.create_server(("127.0.0.1", 0)) as server:
            done = _as_user(python, "-c", PROBE, str(server.getsockname()[1]), env=env)
        assert done.returncode == 0, done.stderr[-2000:]
        _reports[mode] = json.loads(done.stdout.strip().splitlines()[-1])
    return _reports[mode]


@pytest.fixture(scope="session")
def userns(user_python: str) -> dict[str, Any]:
    check = _as_user("unshare", "--user", "--map-root-user", "--net", "true")
    if check.returncode != 0:
        pytest.skip(f"unprivileged user namespaces are off here: {check.stderr.strip()}")
    return probe(user_python, "default")


def test_unprivileged_user_gets_a_user_namespace(userns: dict[str, Any]) -> None:
    assert userns["mode"] == "user-namespace"
    assert userns["host_uid"] != 0


@pytest.mark.parametrize("mode", ["default", "none"])
def test_planted_key_is_not_in_the_environment(user_python: str, mode: str) -> None:
    assert probe(user_python, mode)["environ_key"] is False


def test_planted_key_is_not_in_any_proc_environ(userns: dict[str, Any]) -> None:
    assert userns["proc_environ_read"] > 0  # it did read its own
    assert userns["proc_key_hits"] == []


def test_network_is_blocked(userns: dict[str, Any]) -> None:
    assert userns["connected"] is False


def test_user_files_outside_the_workdir_are_hidden(userns: dict[str, Any]) -> None:
    assert userns["user_file"] == "FileNotFoundError"


def test_nothing_outside_the_workdir_is_writable(userns: dict[str, Any]) -> None:
    assert userns["wrote_outside_workdir"] is False


def test_worker_holds_no_capability(userns: dict[str, Any]) -> None:
    assert userns["cap_eff"] == 0


def test_processes_left_by_a_block_are_killed(user_python: str) -> None:
    for mode in ("default", "none"):
        report = probe(user_python, mode)
        assert report["spinner_setup"] is None, report
        assert report["spinner_outlived_block"] == "False", (mode, report)


def test_uid_mode_kills_every_process_of_its_uid(user_python: str) -> None:
    """Root without namespaces: the dropped uid finds even a process that left the worker's tree."""
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", FORCE_VAR: "uid"}
    done = subprocess.run(
        [user_python, "-c", CHECKS], cwd=REPO, env=env, capture_output=True, text=True, timeout=150
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["mode"] == "uid"
    assert (report["spinner_setup"], report["unreaped_setup"]) == (None, None)
    assert report["spinner_outlived_block"] == report["unreaped_outlived_block"] == "False"
    assert report["fill_12_mb"] == "'written'"  # no mount namespace: disk use is not capped


def test_workdir_disk_use_is_capped_in_a_user_namespace(userns: dict[str, Any]) -> None:
    assert userns["fill_12_mb"] == "'ENOSPC'"
    assert userns["usable_after"] == "2"


def test_forced_none_does_not_cap_disk_use(user_python: str) -> None:
    """The README's known gap, as measured: without a mount namespace the workdir is the host's."""
    assert probe(user_python, "none")["fill_12_mb"] == "'written'"


def test_forced_none_is_described_as_it_is(user_python: str) -> None:
    """The weakest mode says what it lets through, and that is what model code can do."""
    report = probe(user_python, "none")
    assert report["mode"] == "none"
    assert "network ON" in report["describe"] and "host processes visible" in report["describe"]
    assert report["connected"] is True
    assert report["proc_key_hits"] != []
    assert report["user_file"] == "private"


def test_forced_weak_mode_logs_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(FORCE_VAR, "none")
    with caplog.at_level(logging.WARNING, logger="rlm_engine.sandbox.process"), Sandbox() as box:
        assert box.execute("1 + 1", Recorder()).output == "2\n"
        assert box.isolation is not None and box.isolation.mode == "none"
    assert any(
        "weaker isolation" in r.message and "network ON" in r.message for r in caplog.records
    )


def test_unknown_forced_mode_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FORCE_VAR, "chroot")
    with Sandbox() as box, pytest.raises(SandboxError, match="RLM_SANDBOX_ISOLATION='chroot'"):
        box.start()


def test_planted_key_stays_out_under_forced_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FORCE_VAR, "none")
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED_KEY)
    with Sandbox() as box:
        result = box.execute("import os\nsorted(os.environ.items())", Recorder())
    assert PLANTED_KEY not in result.output


def test_a_context_loaded_in_the_background_is_there_at_the_next_use() -> None:
    """`load_context(wait=False)` returns at once (a run's first request needs no worker); the
    next use of the sandbox waits for the load."""
    with Sandbox() as box:
        box.load_context(["abc", "defg"], wait=False)
        assert not box.ran_code
        result = box.execute("print(sum(len(d) for d in context))", Recorder())
        assert result.output == "7\n"
        assert box.ran_code


def test_a_background_load_that_fails_raises_at_the_next_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(FORCE_VAR, "chroot")
    with Sandbox() as box:
        box.load_context("some text", wait=False)  # nothing raised here: the load is a thread's
        with pytest.raises(SandboxError, match="RLM_SANDBOX_ISOLATION='chroot'"):
            box.execute("print(1)", Recorder())
        monkeypatch.delenv(FORCE_VAR)
        assert box.execute("print(len(context))", Recorder()).output == "9\n"  # started again
