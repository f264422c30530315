"""One worker process of a sandbox, as the host sees it: started in the strongest isolation mode
that works here (launch.py), its host pids located, what its blocks left behind swept (reaper.py),
killed with everything it started; and its next message, read with a deadline and a stop.

`next_message` says how a wait ended when no message came: TIMEOUT, STOPPED or DEAD.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from rlm_engine.errors import SandboxError
from rlm_engine.sandbox import launch, reaper
from rlm_engine.sandbox.channel import Connection
from rlm_engine.sandbox.launch import Plan
from rlm_engine.sandbox.types import StopSignal

log = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0
POLL_S = 0.05  # how often a wait looks at the caller's stop event
TIMEOUT, DEAD, STOPPED = object(), object(), object()
_failed_modes: set[str] = set()  # modes that did not start here: not tried again by new sandboxes


class Worker:
    """One worker process and its channel; the output pipe is drained into a short tail."""

    def __init__(
        self,
        plan: Plan,
        workdir: Path,
        memory_limit_mb: int,
        disk_limit_mb: int,
        hidden: tuple[str, ...] = (),
    ) -> None:
        host_end, child_end = socket.socketpair()
        try:
            self.proc = launch.spawn(
                plan,
                workdir=workdir,
                fd=child_end.fileno(),
                memory_limit_mb=memory_limit_mb,
                disk_limit_mb=disk_limit_mb,
                hidden=hidden,
            )
        finally:
            child_end.close()
        self.plan = plan
        self.conn = Connection(host_end)
        self.tail = b""
        self.pid, self.jail_pid = self.proc.pid, None  # host pids; known once it is ready
        threading.Thread(target=self._drain, daemon=True, name="rlm-sandbox-out").start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for chunk in iter(lambda: self.proc.stdout.read1(65536), b""):  # type: ignore[union-attr]
            self.tail = (self.tail + chunk)[-4096:]

    def located(self) -> None:
        """Find the worker's host pid (under unshare: unshare -> jail, PID 1 -> worker). Called
        when it says ready, before model code ran: each of those has exactly one child then."""
        if self.plan.init:
            jail = reaper.children(self.proc.pid)
            worker = reaper.children(jail[0]) if jail else []
            if worker:
                self.jail_pid, self.pid = jail[0], worker[0]

    def sweep(self, keep_worker: bool = True) -> int:
        """Kill every process of this sandbox but the worker (and its ancestors); see reaper.py."""
        if self.plan.init and self.jail_pid is None:
            return 0  # not located: the tree would hold the jail and the worker themselves
        private_uid = self.plan.drop_uid and not self.plan.isolation.pid_namespace
        return reaper.sweep(
            self.jail_pid or self.pid,
            {self.pid} if keep_worker else set(),
            uid=self.plan.isolation.uid if private_uid else None,
            reaper=self.jail_pid,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None and not self.conn.closed

    def describe_exit(self) -> str:
        code = self.proc.poll()
        if code is None:
            return "still running"
        if code < 0 or code > 128:
            sig = -code if code < 0 else code - 128
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig
            return f"killed by {name}" + (" (out of memory?)" if sig == signal.SIGKILL else "")
        return f"exit status {code}"

    def kill(self) -> None:
        """SIGKILL, and wait until every process of the sandbox is gone."""
        self.conn.close()
        if self.proc.poll() is None:
            if self.plan.init:
                # Under unshare, kill its child (PID 1 of the namespace) first: the kernel then
                # kills every process in the namespace, and reaps PID 1 last.
                for pid in reaper.children(self.proc.pid):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=5)
            else:  # without a PID namespace, what it left does not die with it
                self.sweep(keep_worker=False)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            log.warning("sandbox worker %s did not die after SIGKILL", self.proc.pid)


def start_worker(
    plan: Plan | None,
    workdir_for: Callable[[Plan], Path],
    memory_limit_mb: int,
    disk_limit_mb: int,
    hidden: tuple[str, ...] = (),
) -> Worker:
    """A worker that said it is ready: with `plan` (a restart keeps the mode and uid), else in
    the strongest mode that starts here; `workdir_for(plan)` is its working directory."""
    if plan is not None:
        candidates = [plan]
    else:
        every = launch.plans()
        candidates = [p for p in every if p.isolation.mode not in _failed_modes] or every[-1:]
    failures = []
    for candidate in candidates:
        worker = Worker(candidate, workdir_for(candidate), memory_limit_mb, disk_limit_mb, hidden)
        ready = next_message(worker, time.monotonic() + START_TIMEOUT_S)
        if isinstance(ready, dict) and ready.get("op") == "ready":
            worker.located()
            if plan is None and not candidate.isolation.full:
                log.warning("sandbox: weaker isolation (%s)%s", candidate.isolation.describe(),
                            "".join(f"; {f}" for f in failures))  # fmt: skip
            return worker
        worker.kill()
        _failed_modes.add(candidate.isolation.mode)
        failures.append(
            f"{candidate.isolation.mode}: {worker.tail.decode(errors='replace')[-300:]}"
        )
    raise SandboxError(
        "The REPL worker could not start: " + "; ".join(failures) + ". Check that "
        f"{launch.python_executable()} runs, and see the log for details."
    )


def next_message(worker: Worker, deadline: float, stop: StopSignal | None = None) -> object:
    """The next message; a stop event is looked at every POLL_S (an Event cannot wake a queue)."""
    while True:
        if stop is not None and stop.is_set():
            return STOPPED
        left = max(0.0, deadline - time.monotonic())
        try:
            msg = worker.conn.inbox.get(timeout=left if stop is None else min(left, POLL_S))
        except queue.Empty:
            if time.monotonic() >= deadline:
                return TIMEOUT
            continue
        return DEAD if msg is None else msg
