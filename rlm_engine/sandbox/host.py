"""The host side of the REPL: one long-lived worker process per Sandbox, restarted when it dies.

The worker holds `context` and the model's variables. The host sends code, answers the worker's
`llm_query`/`llm_query_batched`/`rlm_query` messages by calling the SandboxHandler in threads of
its own (calls.py: only while the block that made them runs), and enforces the wall time of each
execution: interrupt first, then kill and restart (reloading `context`) if the worker does not
come back within a short grace. After every block, the processes it left behind are killed
(reaper.py). The worker process itself (start, locate, sweep, kill) is process.py's.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import shutil
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rlm_engine.errors import SandboxError
from rlm_engine.held import Context, HeldContext
from rlm_engine.sandbox.calls import Execution
from rlm_engine.sandbox.frames import FrameError
from rlm_engine.sandbox.launch import Isolation, Plan
from rlm_engine.sandbox.process import DEAD, STOPPED, TIMEOUT, Worker, next_message, start_worker
from rlm_engine.sandbox.types import ExecResult, ReplCaps, SandboxHandler, StopSignal, cut

log = logging.getLogger(__name__)

INTERRUPT_GRACE_S = 2.0
REQUEST_TIMEOUT_S = 120.0
LOST_VARIABLES = "`context` was reloaded; every other variable was lost."
STOPPED_DURING = "Stopped: the run was stopped while this block ran"
STOPPED_BEFORE = "Stopped: the run was stopped before this block could run"
MARKER = 100  # room for the worker's own "cut" marker after a capped answer


class Sandbox:
    """A persistent Python REPL in an isolated subprocess. Thread-safe; one execution at a time."""

    def __init__(
        self,
        *,
        exec_timeout_s: float = 120.0,
        output_limit_chars: int = 20_000,
        memory_limit_mb: int = 2048,
        max_concurrency: int = 8,
        workdir: Path | None = None,
        disk_limit_mb: int = 256,
        hidden_paths: tuple[str, ...] = (),
        caps: ReplCaps | None = None,
    ) -> None:
        """`hidden_paths`: host directories model code must not read (the data directory, the
        database's, the models'): covered wherever there is a mount namespace. The engine does
        not know where storage lives, so the composition roots (CLI, app) name them."""
        self.hidden_paths = tuple(str(p) for p in hidden_paths)
        self.exec_timeout_s = exec_timeout_s
        self.output_limit_chars = output_limit_chars
        self.caps = caps or ReplCaps()  # per run: a session's next question may change them
        self.memory_limit_mb = memory_limit_mb
        self.disk_limit_mb = disk_limit_mb  # the workdir's tmpfs where the jail makes one
        self.max_concurrency = max_concurrency
        self.workdir_parent = workdir
        self.isolation: Isolation | None = None  # what is enforced, known once started
        self.workdir: Path | None = None
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._lock = threading.RLock()
        self._worker: Worker | None = None
        self._plan: Plan | None = None
        self._context: HeldContext | None = None
        self._load_error: Exception | None = None  # what a load in the background raised
        self._closed = False
        self._exec_ids = itertools.count(1)
        self.ran_code = False  # a block ran: the REPL may hold variables besides `context`

    @property
    def caps(self) -> ReplCaps:
        """The caps model code runs under; given as a function, worked out on first use (a
        run's caps need the sub model's window, whose look-up must not delay its first request)."""
        if callable(self._caps):
            self._caps = self._caps()
        return self._caps

    @caps.setter
    def caps(self, caps: ReplCaps | Callable[[], ReplCaps]) -> None:
        self._caps = caps

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker if it is not running (idempotent)."""
        with self._lock:
            if self._closed:
                raise SandboxError("This sandbox is closed: create a new Sandbox.")
            if self._load_error is not None:  # said once; the next use starts a worker again
                error, self._load_error = self._load_error, None
                raise error
            if self._worker is not None and self._worker.alive():
                return
            if self._worker is not None:
                self._worker.kill()
            self._worker = self._spawn()
            if self._context is not None:
                self._send_context()

    def close(self) -> None:
        """Kill the worker (and everything it started) and remove the working directory."""
        with self._lock:
            self._closed = True
            if self._worker is not None:
                self._worker.kill()
                self._worker = None
            if self.workdir is not None:
                shutil.rmtree(self.workdir, onerror=force_remove)
                self.workdir = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _spawn(self) -> Worker:
        """Start a worker in the strongest mode that works (a restart keeps the mode and uid)."""
        worker = start_worker(
            self._plan, self._ensure_workdir, self.memory_limit_mb, self.disk_limit_mb,
            self.hidden_paths,
        )  # fmt: skip
        self._plan, self.isolation = worker.plan, worker.plan.isolation
        return worker

    def _ensure_workdir(self, plan: Plan) -> Path:
        if self.workdir is None:
            parent = self.workdir_parent
            self.workdir = Path(tempfile.mkdtemp(prefix="rlm-sandbox-", dir=parent))
        uid = plan.isolation.uid if plan.drop_uid else None
        if uid is not None:
            os.chown(self.workdir, uid, uid)
        os.chmod(self.workdir, 0o700)
        return self.workdir

    def _restart(self) -> None:
        if self._worker is not None:
            self._worker.kill()
            self._worker = None
        self.start()

    # --- the REPL -------------------------------------------------------------------------------
    @property
    def context(self) -> Context | None:
        """The `context` last loaded (the host's copy, read back if it was spilled to a file:
        rlm_engine.held), for checks made on the host side."""
        return None if self._context is None else self._context.get()

    def context_head(self, chars: int) -> str | None:
        """The first `chars` characters of the first document, without the rest (None: none)."""
        return None if self._context is None else self._context.head(chars)

    def load_context(self, context: Context | HeldContext, *, wait: bool = True) -> None:
        """Set `context` in the worker; kept here too so that a restart reloads it (a spilled
        `HeldContext` is sent from its file: rlm_engine.held).

        `wait=False`: the worker starts and is sent `context` in a thread of its own, and this
        returns at once. A run's first model request needs no worker (tenths of a second at
        40M characters); the sandbox's next use waits for the load, and raises what it raised."""
        held = context if isinstance(context, HeldContext) else HeldContext(context)
        if wait:
            with self._lock:
                self._load(held)
            return
        locked = threading.Event()

        def load() -> None:
            with self._lock:
                locked.set()  # every later use of the sandbox now waits for this load
                try:
                    self._load(held)
                except Exception as exc:  # raised where the load would have raised it
                    self._load_error = exc

        threading.Thread(target=load, daemon=True, name="rlm-sandbox-load").start()
        locked.wait()

    def _load(self, held: HeldContext) -> None:
        self._context = held
        if self._worker is not None and self._worker.alive():
            self._send_context()
        else:
            self.start()

    def _send_context(self) -> None:
        held = self._context
        assert held is not None
        self._request({"op": "load", "single": held.single}, REQUEST_TIMEOUT_S, raw=held)

    def get_var(self, name: str) -> str | None:
        """str(value) of a REPL variable, None if there is none by that name."""
        with self._lock:
            self.start()
            limit = self.caps.answer_chars
            msg = {"op": "get_var", "name": name, "limit": limit}
            value = self._request(msg, REQUEST_TIMEOUT_S).get("value")
            return value if not isinstance(value, str) else cut(value, limit, slack=MARKER)

    def show_vars(self) -> dict[str, str]:
        """The REPL's variables: name -> type name."""
        with self._lock:
            self.start()
            return dict(self._request({"op": "show_vars"}, REQUEST_TIMEOUT_S).get("value") or {})

    def var_reprs(self) -> dict[str, str]:
        """The REPL's variables: name -> repr (cut to 500 characters)."""
        with self._lock:
            self.start()
            return dict(self._request({"op": "var_reprs"}, REQUEST_TIMEOUT_S).get("value") or {})

    def execute(
        self,
        code: str,
        handler: SandboxHandler,
        *,
        timeout_s: float | None = None,
        stop: StopSignal | None = None,
    ) -> ExecResult:
        """Run one code block; never raises for anything the code does.

        `stop` (e.g. the run's cancel event) ends the block the way the wall time does: the
        worker is interrupted, and killed and restarted if it does not come back in time. When
        this returns, the block's handler calls start nothing new, and the processes it left
        behind are dead.
        """
        timeout = self.exec_timeout_s if timeout_s is None else timeout_s
        if stop is not None and stop.is_set():
            return ExecResult(output="", output_chars=0, elapsed_s=0.0, error=STOPPED_BEFORE)
        with self._lock:
            notes: list[str] = []  # for the model, after the block's own output
            restarted = self._ensure_worker(notes)
            self.ran_code = True
            worker = self._worker
            assert worker is not None
            begin = time.monotonic()
            execution = Execution(
                next(self._exec_ids), handler, self._slots, self.max_concurrency, worker.conn.send,
                batch_limit=self.caps.batch_prompts,
            )  # fmt: skip
            outcome = self._await_block(worker, execution, code, begin + timeout, stop)
            grace_end = time.monotonic() + INTERRUPT_GRACE_S
            reply, error = self._recover(worker, execution, outcome, timeout, grace_end, notes)
            if reply is None:
                self._restart()
                restarted = True
            else:
                worker.sweep()
            if execution.end(grace_end - time.monotonic()):
                log.info("sandbox: handler calls of an ended block still run; answers dropped")
            return self._result(reply or {}, notes, error, time.monotonic() - begin, restarted)

    def _ensure_worker(self, notes: list[str]) -> bool:
        """A live worker for the next block. True when one that had died since the last block was
        replaced: its variables are lost, and `notes` says so."""
        if self._worker is None:
            self.start()
            return False
        if self._worker.alive():
            return False
        notes.append("The REPL worker had stopped since the last block and was restarted; "
                     + self._lost())  # fmt: skip
        self._restart()
        return True

    def _await_block(
        self,
        worker: Worker,
        execution: Execution,
        code: str,
        deadline: float,
        stop: StopSignal | None,
    ) -> object:
        """Send the block and answer its calls until it ends: the worker's result, or TIMEOUT /
        STOPPED / DEAD (see `_wait`), or the FrameError of a malformed message."""
        msg = {"op": "exec", "id": execution.id, "code": code, "limit": self.output_limit_chars,
               "caps": self.caps.to_worker()}  # fmt: skip
        if not worker.conn.send(msg):
            return DEAD
        return self._wait(worker, deadline, execution, stop)

    def _recover(
        self,
        worker: Worker,
        execution: Execution,
        outcome: object,
        timeout: float,
        grace_end: float,
        notes: list[str],
    ) -> tuple[dict[str, Any] | None, str | None]:
        """The block's reply and error, from how it ended. A block past its time or stopped is
        interrupted; a worker that does not come back by `grace_end`, sent a malformed message or
        died gives no reply (None): the caller restarts it. Each of these leaves a note."""
        if isinstance(outcome, dict):
            return outcome, None
        if outcome is TIMEOUT or outcome is STOPPED:
            error = (
                STOPPED_DURING
                if outcome is STOPPED
                else f"TimeoutError: the block ran longer than {timeout:g} s and was stopped"
            )
            return self._interrupt(worker, execution, grace_end, error, notes), error
        if isinstance(outcome, FrameError):  # model code wrote to the channel, or a bug
            error = f"SandboxError: the REPL worker sent a malformed message ({outcome})"
        else:  # DEAD
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.proc.wait(timeout=2)  # let its exit status land
            error = f"SandboxError: the REPL worker died ({worker.describe_exit()})"
        notes.append(f"[{error}; it was restarted: {self._lost()}]")
        return None, error

    def _interrupt(
        self, worker: Worker, execution: Execution, grace_end: float, error: str, notes: list[str]
    ) -> dict[str, Any] | None:
        """Interrupt a block that must end: its reply if the worker comes back by `grace_end`
        (variables kept), else None (it will be restarted)."""
        execution.end(0)  # what it still asks for is refused; the block is over
        worker.conn.send({"op": "interrupt", "id": execution.id})
        reply = self._wait(worker, grace_end, execution)
        if isinstance(reply, dict):
            notes.append(f"[{error}; variables are kept]")
            return reply
        notes.append(f"[{error}; the REPL worker was restarted: {self._lost()}]")
        return None

    def _lost(self) -> str:
        """What a restart loses: the workdir too where it is a tmpfs of the worker's own."""
        if self.isolation is not None and self.isolation.walled_fs:
            return LOST_VARIABLES[:-1] + ", and so were the files in the working directory."
        return LOST_VARIABLES

    def _result(
        self,
        reply: dict[str, Any],
        notes: list[str],
        error: str | None,
        elapsed: float,
        restarted: bool,
    ) -> ExecResult:
        output = str(reply.get("output") or "")
        chars = int(reply.get("output_chars") or 0)
        for note in notes:
            sep = "\n" if output and not output.endswith("\n") else ""
            output += sep + note + "\n"
            chars += len(sep) + len(note) + 1
        final = reply.get("final")
        return ExecResult(
            output=output,
            output_chars=chars,
            elapsed_s=elapsed,
            error=error or reply.get("error"),
            final=None if final is None else cut(final, self.caps.answer_chars, slack=MARKER),
            restarted=restarted,
        )

    # --- talking to the worker ------------------------------------------------------------------
    def _wait(
        self,
        worker: Worker,
        deadline: float,
        execution: Execution | None,
        stop: StopSignal | None = None,
    ) -> object:
        """The worker's result, or TIMEOUT / STOPPED / DEAD; its calls are answered meanwhile
        (refused when no block runs, or when they come from a block that has ended)."""
        if execution is None:
            execution = Execution(None, None, self._slots, self.max_concurrency, worker.conn.send)
        while True:
            msg = next_message(worker, deadline, stop)
            if not isinstance(msg, dict):
                return msg
            if msg.get("op") == "result":
                return msg
            if msg.get("op") == "call":
                execution.dispatch(msg)

    def _request(
        self,
        msg: dict[str, Any],
        timeout: float,
        raw: HeldContext | None = None,
        retry: bool = True,
    ) -> dict[str, Any]:
        worker = self._worker
        assert worker is not None
        sent = worker.conn.send(msg, raw)
        reply = self._wait(worker, time.monotonic() + timeout, None) if sent else DEAD
        if isinstance(reply, dict) and not reply.get("error"):
            return reply
        if isinstance(reply, FrameError) and retry:  # a thread of model code forged a frame
            log.warning("sandbox: %s between blocks; the worker was restarted", reply)
            self._restart()
            return self._request(msg, timeout, raw, retry=False)
        if isinstance(reply, dict):
            why = reply.get("error")
        else:
            why = str(reply) if isinstance(reply, FrameError) else worker.describe_exit()
        worker.kill()
        raise SandboxError(f"The REPL worker failed to answer {msg['op']!r} ({why}); run it again.")


def force_remove(func: Any, path: str, exc_info: Any) -> None:
    """rmtree's helper for files the model made unreadable (chmod 000 directories): opens them
    up and removes them. Never chmods through a symlink (it may point at a host file)."""
    try:
        os.chmod(os.path.dirname(path), stat.S_IRWXU)
        if os.path.islink(path):
            os.unlink(path)
        elif os.path.isdir(path):
            os.chmod(path, stat.S_IRWXU)
            shutil.rmtree(path, onerror=force_remove)
        else:
            os.unlink(path)
    except OSError:
        log.warning("sandbox: could not remove %s", path)
