"""Who is recording a run, and whether that process still lives.

A run's `writer` is `host|boot|pidns|pid|start`. The boot id and the process start time make a
recycled pid or a reboot read as dead. The PID namespace matters because containers may share a
hostname and a boot id while numbering their processes apart: pid 12 in another namespace says
nothing about our pid 12. A writer on another host, in another PID namespace, or recorded in an
older token without a namespace is never judged (we cannot see its processes): its run stays
`running` until it finishes, or is marked by hand. Only a writer we are sure is gone is dead.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _pid_namespace() -> str:
    """This process's PID namespace, e.g. `pid:[4026531836]`; "" where /proc has none (macOS)."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat fields after "pid (comm)": [0] is the state, [19] the start time."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _start_time(pid: int) -> str:
    fields = _stat(pid)
    return fields[19] if len(fields) > 19 else ""


def writer_token(pid: int | None = None) -> str:
    """The token for `pid` (default: this process), a pid as numbered in our namespace."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}|{_boot_id()}|{_pid_namespace()}|{pid}|{_start_time(pid)}"


def writer_alive(token: str | None) -> bool | None:
    """True/False for a writer whose processes we can see; None when it cannot be judged."""
    if not token or token.count("|") != 4:
        return None  # unknown, or an older token without the PID namespace
    host, boot, namespace, pid_text, start = token.split("|")
    if host != socket.gethostname():
        return None
    if boot and boot != _boot_id():
        return False  # rebooted since: every process of that boot is gone
    if namespace != _pid_namespace() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by someone else
    fields = _stat(pid)
    if fields and fields[0] in ("Z", "X"):  # killed, not yet reaped by its parent
        return False
    return not start or start == _start_time(pid)
