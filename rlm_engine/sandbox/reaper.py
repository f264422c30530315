"""Kills what a code block leaves behind: forked children, daemons, setsid() escapes.

After every block the host kills each process of the sandbox but the worker (and, with
namespaces, `unshare` and the jail, PID 1 of the namespace). Where they are found:

- PID namespace: every process in it descends from the jail (the kernel re-parents orphans to
  PID 1), so the jail's descendants are the whole namespace; nothing can leave it.
- no PID namespace: the worker is a child subreaper (jail.py sets it), so orphans are re-parented
  to it and stay its descendants. With a private uid (`uid` mode) every process of that uid is
  killed too, which also finds one that cleared the subreaper flag before escaping; in `none`
  mode such a process gets away (README, Known gaps).

Linux /proc only; elsewhere nothing is found. A pid is signalled through a pidfd after checking
again that it is still the process found, so a recycled pid of someone else is never hit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable

_HAS_CHILDREN_FILE = os.path.exists(f"/proc/self/task/{os.getpid()}/children")


def stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[1])


def children(pid: int) -> list[int]:
    """The children of every thread of `pid` (a fork from a thread is that thread's child)."""
    if not _HAS_CHILDREN_FILE:  # kernels without CONFIG_PROC_CHILDREN: scan every parent
        return [p for p in _pids() if (s := stat(p)) is not None and s[1] == pid]
    found: list[int] = []
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with (
                contextlib.suppress(OSError, ValueError),
                open(f"/proc/{pid}/task/{tid}/children") as f,
            ):
                found += [int(c) for c in f.read().split()]
    return found


def descendants(root: int) -> dict[int, int]:
    """pid -> parent pid for every process below `root`."""
    found: dict[int, int] = {}
    todo = [root]
    while todo:
        parent = todo.pop()
        for child in children(parent):
            if child not in found:
                found[child] = parent
                todo.append(child)
    return found


def of_uid(uid: int) -> list[int]:
    """Every process whose real, effective or saved uid is `uid`."""
    return [p for p in _pids() if _has_uid(p, uid)]


def sweep(
    root: int,
    keep: set[int],
    *,
    uid: int | None = None,
    reaper: int | None = None,
    timeout_s: float = 2.0,
) -> int:
    """SIGKILL every process below `root` (and of `uid`) but `keep`, until none is left running
    and no zombie waits on `reaper` (the jail reaps its orphans at once: waiting for it makes the
    next block find a clean namespace). Returns how many processes were killed."""
    deadline = time.monotonic() + timeout_s
    killed: set[int] = set()
    while True:
        found: dict[int, Callable[[], bool]] = {}
        for pid, parent in descendants(root).items():
            found[pid] = lambda pid=pid, parent=parent: (stat(pid) or ("", -1))[1] == parent
        for pid in of_uid(uid) if uid is not None else []:
            found.setdefault(pid, lambda pid=pid: _has_uid(pid, uid))  # type: ignore[arg-type]
        pending = False
        for pid, still_ours in found.items():
            info = None if pid in keep else stat(pid)
            if info is None:
                continue
            if info[0] == "Z":  # dead already; its parent will reap it
                pending |= reaper is not None and info[1] == reaper
                continue
            pending = True
            if _kill(pid, still_ours):
                killed.add(pid)
        if not pending or time.monotonic() > deadline:
            return len(killed)
        time.sleep(0.002)


def _kill(pid: int, still_ours: Callable[[], bool]) -> bool:
    try:
        fd: int | None = os.pidfd_open(pid)
    except ProcessLookupError:
        return False
    except (AttributeError, OSError):  # no pidfds here: a plain kill, after the same check
        fd = None
    try:
        if not still_ours():
            return False
        if fd is None:
            os.kill(pid, signal.SIGKILL)
        else:
            signal.pidfd_send_signal(fd, signal.SIGKILL)
        return True
    except (ProcessLookupError, PermissionError):
        return False
    finally:
        if fd is not None:
            os.close(fd)


def _pids() -> list[int]:
    try:
        return [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return []


def _has_uid(pid: int, uid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Uid:"):
                    return str(uid) in line.split()[1:4]
    except OSError:
        pass
    return False
