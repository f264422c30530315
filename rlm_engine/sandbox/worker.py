"""The REPL worker: runs model-written code in its own process, one per Sandbox.

Standalone and stdlib-only on purpose: it runs as `python -I -S worker.py FD` under a dropped uid,
so it can import neither rlm_engine nor site-packages. It talks to the host over the socket FD with
length-framed JSON (4-byte big-endian length, then UTF-8 JSON); stdout and stderr belong to the
model's code and are captured in memory, capped, for each execution.

Threads: the main thread runs commands (exec, load, get_var, show_vars) one at a time; a reader
thread receives replies to `llm_query` & co. and interrupts. An interrupt is a real SIGINT sent to
the main thread, so it also breaks a `time.sleep` or a wait on a slow host call.

Each exec carries an id. Calls to the host are tagged with the id of the block running when they
are made (None between blocks), so the host can refuse calls of threads whose block has ended;
an interrupt names the block it is meant for, so it never hits the next one. What threads print
while no block runs is counted, dropped, and noted at the head of the next block's output.
"""

from __future__ import annotations

import ast
import builtins
import codecs
import contextlib
import importlib.util
import io
import json
import linecache
import os
import queue
import signal
import socket
import struct
import sys
import threading
import traceback
import types

_HEADER = struct.Struct(">I")
_THIS_FILE = os.path.abspath(__file__)
MAX_SEND = 60 * 1024 * 1024  # the host refuses frames over 64 MiB: larger calls are refused here
MAX_TEXT = 2_000_000  # outputs and answers are cut to at most this many characters
_PIECE = 1 << 18  # bytes of a context received and decoded at a time
_HERE = os.path.dirname(_THIS_FILE)
_CONTRACT_FILE = os.path.join(_HERE, "repl_contract.py")
_HELPERS_FILE = os.path.join(_HERE, "repl_helpers.py")
_OWN_FILES = {_THIS_FILE, _CONTRACT_FILE, _HELPERS_FILE}  # left out of the model's tracebacks


def load_by_path(name: str, path: str) -> types.ModuleType:
    """A stdlib-only module of this directory, loaded by its path: `python -I` keeps this
    directory off sys.path (and putting it there would let its files shadow the stdlib's)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


contract = load_by_path("rlm_repl_contract", _CONTRACT_FILE)


class Channel:
    """Framed JSON over the socket; sends are serialised, receives happen in one thread."""

    def __init__(self, fd: int) -> None:
        self.sock = socket.socket(fileno=fd)
        self.sock.set_inheritable(False)  # subprocesses of model code must not get the channel
        self.lock = threading.Lock()
        self.closed = False

    def send(self, msg: dict) -> None:
        if self.closed:
            return
        data = json.dumps(msg).encode()
        if len(data) > MAX_SEND:
            raise ValueError(
                f"this message is {len(data) / 2**20:,.0f} MiB as sent to the host, over the "
                f"{MAX_SEND // 2**20} MiB the channel takes: split it into smaller pieces"
            )
        with self.lock:
            self.sock.sendall(_HEADER.pack(len(data)) + data)

    def recv(self) -> dict | None:
        header = self._exactly(_HEADER.size)
        if header is None:
            return None
        body = self._exactly(_HEADER.unpack(header)[0])
        if body is None:
            return None
        msg = json.loads(body)
        if msg.get("raw") is not None:  # a frame of raw UTF-8 follows (a large context)
            header = self._exactly(_HEADER.size)
            if header is None:
                return None
            msg["raw"] = self._texts(_HEADER.unpack(header)[0], msg.get("sizes") or [])
            if msg["raw"] is None:
                return None
        return msg

    def _texts(self, total: int, sizes: list[int]) -> list[str] | None:
        """The raw frame's texts (`sizes`: each one's bytes), each decoded a piece at a time as
        it arrives and added to the end of its text: a `str` held by one name alone grows in
        place (CPython's `+=` on a local; in 3.11 only in a `for` loop from the first call), so
        a 40 MB context is held once here, never beside its bytes."""
        buf = memoryview(bytearray(min(total, _PIECE) + 4))
        texts, left = [], total
        for size in [*sizes, total - sum(sizes)]:
            size = max(0, min(size, left))
            left -= size
            text, carry = "", 0  # carry: the bytes of a character cut at a piece's end
            for start in range(0, size, _PIECE):
                n = min(_PIECE, size - start)
                if not self._fill(buf[carry : carry + n]):
                    return None
                last = start + n == size
                piece, used = codecs.utf_8_decode(buf[: carry + n], "surrogatepass", last)
                text += piece
                carry += n - used
                buf[:carry] = buf[used : used + carry]
            texts.append(text)
        return texts[:-1]  # the last: bytes past the sizes (none from the host), dropped

    def _fill(self, view: memoryview) -> bool:
        """Fill `view` from the socket; False if the host is gone."""
        got = 0
        while got < len(view):
            k = self.sock.recv_into(view[got:])
            if not k:
                return False
            got += k
        return True

    def _exactly(self, n: int) -> bytearray | None:
        """n bytes, read in place (no copy to bytes)."""
        buf = bytearray(n)
        return buf if self._fill(memoryview(buf)) else None

    def close_in_child(self) -> None:
        """After a fork in model code: the child must never speak on the parent's channel."""
        self.closed = True
        with contextlib.suppress(OSError):
            os.close(self.sock.detach())


class Capture(io.TextIOBase):
    """Keeps the head and the tail of what is written, counting everything (floods stay small)."""

    def __init__(self, limit: int) -> None:
        self.head_max = limit // 2
        self.tail_max = limit - self.head_max
        self.head: list[str] = []
        self.head_len = 0
        self.tail = ""
        self.total = 0
        self.lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        n = len(s)
        with self.lock:
            self.total += n
            room = self.head_max - self.head_len
            if room > 0:
                self.head.append(s[:room])
                self.head_len += min(room, n)
                s = s[room:]
            if s and self.tail_max:
                self.tail = (self.tail + s[-self.tail_max :])[-self.tail_max :]
        return n

    def text(self) -> str:
        head = "".join(self.head)
        cut = self.total - len(head) - len(self.tail)
        if cut <= 0:
            return head + self.tail
        return f"{head}\n... [{cut:,} characters truncated] ...\n{self.tail}"


class Redirect(io.TextIOBase):
    """sys.stdout/sys.stderr: forwards to the current execution's Capture (threads included)."""

    def __init__(self, state: State) -> None:
        self.state = state

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        return self.state.capture.write(s)

    @property
    def encoding(self) -> str:
        return "utf-8"


class State:
    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.capture = Capture(0)  # between blocks: counts what threads print, keeps nothing
        self.final: str | None = None
        self.busy = False
        self.current: int | None = None  # id of the running (or last) exec
        self.interrupted: int | None = None  # id of the exec the host last interrupted
        self.exec_lock = threading.Lock()  # busy/current/capture change together
        self.main_ident = threading.get_ident()
        self.next_id = 0
        self.id_lock = threading.Lock()
        self.pending: dict[int, list] = {}  # id -> [Event, reply]
        self.commands: queue.Queue = queue.Queue()
        self.exec_count = 0
        self.namespace: dict = {"__name__": "__main__", "__builtins__": builtins}
        # caps the host sets with each block (see the README's Configuration)
        self.caps = {"prompt": 4_000_000, "batch": 1_000, "answer": 1_000_000}

    # --- calls to the host -------------------------------------------------------------------
    def call(self, method: str, *args: object) -> object:
        with self.id_lock:
            self.next_id += 1
            call_id = self.next_id
        slot: list = [threading.Event(), None]
        self.pending[call_id] = slot
        try:
            tag = self.current if self.busy else None
            msg = {"op": "call", "id": call_id, "exec": tag, "method": method, "args": list(args)}
            try:
                self.channel.send(msg)
            except ValueError as exc:
                raise ValueError(f"{method}: {exc}") from None
            while not slot[0].wait(0.5):
                if self.channel.closed:
                    raise RuntimeError(f"{method}: the host channel is closed")
        finally:
            self.pending.pop(call_id, None)
        reply = slot[1]
        if not reply.get("ok"):
            raise RuntimeError(reply.get("error") or f"{method} failed")
        return reply.get("value")

    def on_reply(self, msg: dict) -> None:
        slot = self.pending.get(msg.get("id"))
        if slot is not None:  # late answers to interrupted calls are dropped
            slot[1] = msg
            slot[0].set()

    def on_interrupt(self, exec_id: object) -> None:
        """Interrupt exec `exec_id`: now if it runs, at its start if it has not begun yet."""
        with self.exec_lock:
            self.interrupted = exec_id  # type: ignore[assignment]
            if self.busy and self.current == exec_id:
                signal.pthread_kill(self.main_ident, signal.SIGINT)


def format_error(exc: BaseException) -> tuple[str, str]:
    """A short traceback without the worker's own frames, and its last line."""
    only = traceback.format_exception_only(type(exc), exc)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename not in _OWN_FILES]
    text = "".join(only)
    if frames and not isinstance(exc, SyntaxError):
        stack = "".join(traceback.StackSummary.from_list(frames).format())
        text = "Traceback (most recent call last):\n" + stack + text
    return text, only[-1].strip()


def run_code(state: State, code: str) -> str | None:
    """exec the block; echo the repr of a bare last expression. Returns the error line or None."""
    state.exec_count += 1
    filename = f"<repl-{state.exec_count}>"
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    try:
        tree = ast.parse(code, filename, "exec")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, filename, "exec"), state.namespace)
        if last is not None:
            value = eval(compile(last, filename, "eval"), state.namespace)
            if value is not None:
                state.capture.write(repr(value) + "\n")
        return None
    except BaseException as exc:  # model code may raise anything, SystemExit included
        text, line = format_error(exc)
        state.capture.write(text)
        return line


def do_exec(state: State, msg: dict) -> dict:
    reap_children()  # the processes the host killed after the last block
    state.final = None
    with state.exec_lock:
        dropped = state.capture.total
        state.capture = Capture(min(int(msg.get("limit", 20_000)), MAX_TEXT))
        state.caps.update(msg.get("caps") or {})
        state.current = msg.get("id")
        state.busy = True
        cancelled = state.interrupted == state.current and state.current is not None
    if dropped:
        state.capture.write(f"[note: {dropped:,} characters printed while no block ran were "
                            "dropped (threads of earlier blocks)]\n")  # fmt: skip
    error = None
    try:
        try:
            error = "KeyboardInterrupt" if cancelled else run_code(state, msg["code"])
        except KeyboardInterrupt:  # arrived while formatting an error
            error = "KeyboardInterrupt"
    finally:
        with state.exec_lock:
            state.busy = False
            cap, state.capture = state.capture, Capture(0)
    final = contract.cut(state.final, min(state.caps["answer"], MAX_TEXT))
    return {"op": "result", "output": cap.text(), "output_chars": cap.total, "error": error,
            "final": final}  # fmt: skip


def unpack_context(msg: dict) -> str | list[str]:
    """The context's documents, decoded as they arrived (Channel.recv)."""
    docs = msg.pop("raw")
    return docs[0] if msg.get("single") else docs


def handle(state: State, msg: dict) -> dict:
    op = msg.get("op")
    if op == "exec":
        return do_exec(state, msg)
    if op == "load":
        state.namespace["context"] = unpack_context(msg)
        return {"op": "result", "value": None}
    if op == "get_var":
        name = msg.get("name")
        value = state.namespace.get(name) if isinstance(name, str) else None
        has = isinstance(name, str) and name in state.namespace
        limit = min(int(msg.get("limit", MAX_TEXT)), MAX_TEXT)
        value = contract.cut(contract.as_text(value), limit) if has else None
        return {"op": "result", "value": value}
    if op == "show_vars":
        return {"op": "result", "value": contract.show_vars(state)}
    if op == "var_reprs":
        return {"op": "result", "value": contract.var_reprs(state)}
    return {"op": "result", "error": f"unknown op {op!r}"}


def reap_children() -> None:
    """Zombies of forked children count against RLIMIT_NPROC: collect the finished ones."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def reader(state: State) -> None:
    """Receives host messages: replies and interrupts at once, commands for the main thread."""
    while True:
        try:
            msg = state.channel.recv()
        except (OSError, ValueError):
            msg = None
        if msg is None:
            os._exit(0)  # the host is gone: nothing left to serve
        op = msg.get("op")
        if op == "reply":
            state.on_reply(msg)
        elif op == "interrupt":
            state.on_interrupt(msg.get("id"))
        else:
            state.commands.put(msg)


def main() -> None:
    channel = Channel(int(sys.argv[1]))
    state = State(channel)
    pid = os.getpid()
    os.register_at_fork(after_in_child=channel.close_in_child)

    def on_sigint(signum: int, frame: object) -> None:
        if state.busy:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    sys.stdout = sys.stderr = Redirect(state)
    sys.stdin = io.StringIO()
    contract.install_helpers(state, load_by_path("rlm_repl_helpers", _HELPERS_FILE))
    threading.Thread(target=reader, args=(state,), daemon=True).start()
    channel.send({"op": "ready", "pid": pid, "uid": os.getuid()})
    while True:
        try:
            msg = state.commands.get()
            reply = handle(state, msg)
        except KeyboardInterrupt:
            reply = {"op": "result", "output": "", "output_chars": 0, "error": "KeyboardInterrupt"}
        if os.getpid() != pid:
            os._exit(0)  # a child forked by model code finished the block: leave quietly
        reap_children()
        try:
            channel.send(reply)
        except ValueError as exc:  # a reply too large for the channel (outputs are capped)
            channel.send({"op": "result", "output": "", "output_chars": 0, "error": str(exc)})


if __name__ == "__main__":
    main()
