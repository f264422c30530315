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


def _start_time(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]  # field 22: starttime, after "pid (comm)"


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
    return not start or start == _start_time(pid)
