"""How a worker process is started: which walls, which command, which environment.

The strongest mode the OS permits wins; weaker ones are fallbacks with a logged warning:

    namespaces      root: new network, PID, mount, IPC and UTS namespaces with a fresh /proc
                    (`unshare` from util-linux), worker dropped to a per-sandbox unprivileged uid
    user-namespace  not root: the same namespaces inside an unprivileged user namespace; the
                    worker is the user's own uid without any capability
    uid             root without namespaces: only the dropped uid
    none            rlimits and a scrubbed environment only (e.g. macOS)

With namespaces the filesystem is read-only but for the workdir, a size-capped tmpfs of the
sandbox's own (a write past the cap fails with ENOSPC; the files die with the worker), and the host
user's home, /tmp, /var/tmp, /dev/shm and /run/user/UID are hidden (API keys, agent sockets, the
user's files), and so are the directories the caller names (the data directory, the database's).
Every mode: a scrubbed environment, rlimits (memory, file size, core dumps, processes), a fresh
private working directory, `python -I -S`.

`RLM_SANDBOX_ISOLATION=<mode>` forces one mode (tests use it to exercise the fallbacks).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from rlm_engine.errors import SandboxError
from rlm_engine.paths import known_private_dirs

HERE = Path(__file__).resolve().parent
WORKER = HERE / "worker.py"
REPL_CONTRACT = HERE / "repl_contract.py"  # loaded by the worker: bound into the jail beside it
REPL_HELPERS = HERE / "repl_helpers.py"  # likewise
JAIL = HERE / "jail.py"
NS_FLAGS = ["--net", "--pid", "--mount", "--ipc", "--uts", "--fork", "--kill-child", "--mount-proc"]
FILE_SIZE_LIMIT = 64 * 1024 * 1024
MAX_PROCESSES = 128
MAX_OPEN_FILES = 1024
WORKDIR_INODES = 32_768  # tmpfs inodes cost kernel memory too: many empty files are not free
MODES = ("namespaces", "user-namespace", "uid", "none")
FORCE_VAR = "RLM_SANDBOX_ISOLATION"


@dataclass(frozen=True)
class Isolation:
    """What is enforced around a worker (see the module docstring for the modes)."""

    mode: str
    network: bool  # no network: an empty network namespace
    pid_namespace: bool  # own PID namespace and /proc: no other process is visible
    uid: int | None  # the unprivileged uid the worker runs as; None: the host's own user
    walled_fs: bool = False  # read-only filesystem, home and temp directories hidden

    def describe(self) -> str:
        parts = [f"mode={self.mode}"]
        parts.append("network off" if self.network else "network ON")
        parts.append("own PID namespace" if self.pid_namespace else "host processes visible")
        parts.append(f"uid {self.uid}" if self.uid is not None else "host uid")
        parts.append(
            "read-only filesystem, home and /tmp hidden"
            if self.walled_fs
            else "host files readable (writable where the uid may)"
        )
        return ", ".join(parts)

    @property
    def full(self) -> bool:
        """Network, processes and files walled off: nothing to warn the user about."""
        return self.network and self.pid_namespace and self.walled_fs


@dataclass(frozen=True)
class Plan:
    """One way to start the worker."""

    isolation: Isolation
    prefix: list[str]  # e.g. the unshare command, or nothing
    init: bool  # jail.py runs as PID 1 of the new namespaces
    drop_uid: bool


def plans() -> list[Plan]:
    """The modes to try, strongest first (only the forced one if RLM_SANDBOX_ISOLATION is set)."""
    unshare = shutil.which("unshare") if sys.platform.startswith("linux") else None
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    uid = random.randrange(2_000_000, 2_900_000) if root else None
    out = []
    if unshare and root:
        iso = Isolation("namespaces", True, True, uid, walled_fs=True)
        out.append(Plan(iso, [unshare, *NS_FLAGS], True, True))
    if unshare and not root:
        prefix = [unshare, "--user", "--map-root-user", *NS_FLAGS]
        iso = Isolation("user-namespace", True, True, None, walled_fs=True)
        out.append(Plan(iso, prefix, True, False))
    if root:
        out.append(Plan(Isolation("uid", False, False, uid), [], False, True))
    out.append(Plan(Isolation("none", False, False, None), [], False, False))
    forced = os.environ.get(FORCE_VAR, "").strip()
    if not forced:
        return out
    chosen = [p for p in out if p.isolation.mode == forced]
    if not chosen:
        possible = ", ".join(p.isolation.mode for p in out)
        raise SandboxError(
            f"{FORCE_VAR}={forced!r} is not possible here (one of: {possible}); "
            "unset it to get the strongest isolation available."
        )
    return chosen


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


def processes_of_this_user() -> int | None:
    """How many processes the host's uid runs now (Linux), None where /proc cannot tell."""
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return None
    count = 0
    for pid in pids:
        try:
            count += os.stat(f"/proc/{pid}").st_uid == os.getuid()
        except OSError:
            continue
    return count


def rlimits(memory_limit_mb: int, private_uid: bool) -> dict[str, int]:
    limits = {
        "RLIMIT_DATA": memory_limit_mb * 1024 * 1024,
        "RLIMIT_FSIZE": FILE_SIZE_LIMIT,
        "RLIMIT_CORE": 0,
        "RLIMIT_NOFILE": MAX_OPEN_FILES,
    }
    # RLIMIT_NPROC counts every process of the uid. A private uid gets the cap as it is; the
    # user's own uid gets what it runs now plus the cap (the user's other processes are unbound).
    running = 0 if private_uid else processes_of_this_user()
    if running is not None:
        limits["RLIMIT_NPROC"] = running + MAX_PROCESSES
    if sys.platform == "darwin":  # macOS ignores RLIMIT_DATA for mmap; AS is what it has
        limits["RLIMIT_AS"] = limits.pop("RLIMIT_DATA")
    return limits


def hidden_dirs() -> list[str]:
    """Where the host user's secrets and sockets live: covered by an empty tmpfs."""
    homes = [os.environ.get("HOME", "")]
    with contextlib.suppress(ImportError, KeyError):
        import pwd

        homes.append(pwd.getpwuid(os.getuid()).pw_dir)
    temps = ["/tmp", "/var/tmp", "/dev/shm", f"/run/user/{os.getuid()}"]
    return [os.path.realpath(d) for d in [*homes, *temps] if d and os.path.isdir(d)]


def workdir_tmpfs(plan: Plan, disk_limit_mb: int) -> str | None:
    """tmpfs options for the workdir where the jail mounts one (in a mount namespace only)."""
    if not plan.init:
        return None
    owner = plan.isolation.uid if plan.drop_uid else 0  # 0: root of the user namespace
    return f"size={disk_limit_mb}m,nr_inodes={WORKDIR_INODES},mode=700,uid={owner},gid={owner}"


def config(
    plan: Plan,
    *,
    workdir: Path,
    fd: int,
    memory_limit_mb: int,
    disk_limit_mb: int,
    hidden: tuple[str, ...] = (),
) -> dict:
    """What jail.py needs to build the walls and start the worker. `hidden`: more host
    directories to cover (the data directory, the database's, the models')."""
    python = python_executable()
    uid = plan.isolation.uid if plan.drop_uid else None
    return {
        "init": plan.init,
        "uid": uid,
        "gid": uid,
        "workdir": str(workdir),
        "fd": fd,
        "python": python,
        "worker": str(WORKER),
        "rlimits": rlimits(memory_limit_mb, uid is not None),
        "drop_caps": plan.init and uid is None,
        "readonly": plan.init,
        "workdir_tmpfs": workdir_tmpfs(plan, disk_limit_mb),
        "subreaper": not plan.init,  # no PID 1 of our own: orphans must stay the worker's
        "hide": [*hidden_dirs(), *known_private_dirs(), *map(os.path.realpath, hidden)]
        if plan.init
        else [],
        "expose": [
            os.path.realpath(sysconfig.get_config_var("prefix") or sys.base_prefix),
            python,
            str(WORKER),
            str(REPL_CONTRACT),
            str(REPL_HELPERS),
            str(workdir),
        ],
    }


def spawn(
    plan: Plan,
    *,
    workdir: Path,
    fd: int,
    memory_limit_mb: int,
    disk_limit_mb: int,
    hidden: tuple[str, ...] = (),
) -> subprocess.Popen:
    """Start the jail; its stdout/stderr (and fd-level writes of model code) go to one pipe.

    The jail's configuration (host paths, uid, what is hidden) travels on a pipe, not in argv:
    model code can read /proc/1/cmdline (the jail's) and /proc/self/cmdline."""
    cfg = json.dumps(
        config(
            plan,
            workdir=workdir,
            fd=fd,
            memory_limit_mb=memory_limit_mb,
            disk_limit_mb=disk_limit_mb,
            hidden=hidden,
        )
    ).encode()
    read_end, write_end = os.pipe()
    try:
        proc = subprocess.Popen(
            [*plan.prefix, python_executable(), "-I", "-S", str(JAIL), str(read_end)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(fd, read_end),
            env=scrubbed_env(workdir),
            cwd=str(workdir),
            start_new_session=True,
        )
    except BaseException:
        os.close(write_end)
        raise
    finally:
        os.close(read_end)
    with contextlib.suppress(BrokenPipeError), open(write_end, "wb") as pipe:
        pipe.write(cfg)  # a jail that failed to start leaves a broken pipe: its exit says why
    return proc
