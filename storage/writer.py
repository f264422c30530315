"""Who is recording a run, and whether that process still lives.

A run's `writer` is `host|boot|pid|start`: the boot id and the process start time make a recycled
pid or a reboot read as dead. A run written from another host is never judged (we cannot see its
processes): it stays `running` until that host's next start, or `Database.mark_interrupted()`.
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
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}|{_boot_id()}|{pid}|{_start_time(pid)}"


def writer_alive(token: str | None) -> bool | None:
    """True/False for a writer on this host; None when it cannot be judged from here."""
    if not token or token.count("|") != 3:
        return None
    host, boot, pid_text, start = token.split("|")
    if host != socket.gethostname():
        return None
    if boot and boot != _boot_id():
        return False
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
