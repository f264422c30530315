"""How a worker process is started: which walls, which command, which environment.

The strongest mode the OS permits wins; weaker ones are fallbacks with a logged warning:

    namespaces      root: new network, PID, mount, IPC and UTS namespaces with a fresh /proc
                    (`unshare` from util-linux), worker dropped to a per-sandbox unprivileged uid
    user-namespace  not root: the same namespaces inside an unprivileged user namespace
    uid             root without namespaces: only the dropped uid
    none            rlimits and a scrubbed environment only (e.g. macOS)

Every mode: a scrubbed environment, rlimits (memory, file size, core dumps, processes where the
uid is private), a fresh private working directory, `python -I -S`.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKER = HERE / "worker.py"
JAIL = HERE / "jail.py"
NS_FLAGS = ["--net", "--pid", "--mount", "--ipc", "--uts", "--fork", "--kill-child", "--mount-proc"]
FILE_SIZE_LIMIT = 64 * 1024 * 1024
MAX_PROCESSES = 128
MAX_OPEN_FILES = 1024


@dataclass(frozen=True)
class Isolation:
    """What is enforced around a worker (see the module docstring for the modes)."""

    mode: str
    network: bool  # no network: an empty network namespace
    pid_namespace: bool  # own PID namespace and /proc: no other process is visible
    uid: int | None  # the unprivileged uid the worker runs as; None: the host's own user

    def describe(self) -> str:
        parts = [f"mode={self.mode}"]
        parts.append("network off" if self.network else "network ON")
        parts.append("own PID namespace" if self.pid_namespace else "host processes visible")
        parts.append(f"uid {self.uid}" if self.uid is not None else "host uid")
        return ", ".join(parts)


@dataclass(frozen=True)
class Plan:
    """One way to start the worker."""

    isolation: Isolation
    prefix: list[str]  # e.g. the unshare command, or nothing
    init: bool  # jail.py runs as PID 1 of the new namespaces
    drop_uid: bool


def plans() -> list[Plan]:
    """The modes to try, strongest first."""
    unshare = shutil.which("unshare") if sys.platform.startswith("linux") else None
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    uid = random.randrange(2_000_000, 2_900_000) if root else None
    out = []
    if unshare and root:
        out.append(Plan(Isolation("namespaces", True, True, uid), [unshare, *NS_FLAGS], True, True))
    if unshare and not root:
        prefix = [unshare, "--user", "--map-root-user", *NS_FLAGS]
        out.append(Plan(Isolation("user-namespace", True, True, None), prefix, True, False))
    if root:
        out.append(Plan(Isolation("uid", False, False, uid), [], False, True))
    out.append(Plan(Isolation("none", False, False, None), [], False, False))
    return out


def python_executable() -> str:
    """The base interpreter: the venv is not needed under `-I -S`."""
    return os.path.realpath(sys.executable)


def scrubbed_env(workdir: Path) -> dict[str, str]:
    """Nothing of the host's environment passes: keys live there."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "PYTHONIOENCODING": "utf-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "PYTHONSAFEPATH": "1",
    }


def rlimits(memory_limit_mb: int, private_uid: bool) -> dict[str, int]:
    limits = {
        "RLIMIT_DATA": memory_limit_mb * 1024 * 1024,
        "RLIMIT_FSIZE": FILE_SIZE_LIMIT,
        "RLIMIT_CORE": 0,
        "RLIMIT_NOFILE": MAX_OPEN_FILES,
    }
    if private_uid:  # RLIMIT_NPROC counts every process of the uid: only meaningful if it is ours
        limits["RLIMIT_NPROC"] = MAX_PROCESSES
    if sys.platform == "darwin":  # macOS ignores RLIMIT_DATA for mmap; AS is what it has
        limits["RLIMIT_AS"] = limits.pop("RLIMIT_DATA")
    return limits


def command(plan: Plan, *, workdir: Path, fd: int, memory_limit_mb: int) -> list[str]:
    """The argv that starts jail.py, and through it the worker."""
    python = python_executable()
    uid = plan.isolation.uid if plan.drop_uid else None
    cfg = {
        "init": plan.init,
        "uid": uid,
        "gid": uid,
        "workdir": str(workdir),
        "fd": fd,
        "python": python,
        "worker": str(WORKER),
        "rlimits": rlimits(memory_limit_mb, uid is not None),
        "expose": [
            os.path.realpath(sysconfig.get_config_var("prefix") or sys.base_prefix),
            python,
            str(WORKER),
            str(workdir),
        ],
    }
    return [*plan.prefix, python, "-I", "-S", str(JAIL), json.dumps(cfg)]


def spawn(plan: Plan, *, workdir: Path, fd: int, memory_limit_mb: int) -> subprocess.Popen:
    """Start the jail; its stdout/stderr (and fd-level writes of model code) go to one pipe."""
    return subprocess.Popen(
        command(plan, workdir=workdir, fd=fd, memory_limit_mb=memory_limit_mb),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        pass_fds=(fd,),
        env=scrubbed_env(workdir),
        cwd=str(workdir),
        start_new_session=True,
    )
