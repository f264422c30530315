"""Answers a code block's `llm_query` & co., and only while that block runs.

Each execution gets an id and the worker tags every call with the id of the block that was running
when the call was made. Once a block has ended (result, timeout, stop) its calls start no handler
call: a late request, or a prompt of a batch not begun yet, is answered with an error. A batch is
split into single-prompt `llm_query_batched` calls run here, at most `max_concurrency` at a time,
so that a timed-out batch of 40 prompts stops at the prompts in flight instead of running on in
the handler's own pool (where nothing could stop it).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import repeat
from typing import Any

from rlm_engine.sandbox.types import SandboxHandler


class BlockEnded(Exception):
    """The block that made the call has ended: nothing more is started for it."""


class Execution:
    """The handler calls of one code block."""

    def __init__(
        self,
        exec_id: int | None,
        handler: SandboxHandler | None,
        slots: threading.BoundedSemaphore,
        width: int,
        send: Callable[[dict[str, Any]], object],
        *,
        batch_limit: int | None = None,
    ) -> None:
        self.id = exec_id  # None: no block runs (get_var, show_vars): every call is refused
        self.handler = handler
        self.slots = slots  # shared by the sandbox: max_concurrency handler calls at once
        self.width = width
        self.send = send
        self.batch_limit = batch_limit  # prompts in one batch (the worker refuses more first)
        self._cond = threading.Condition()
        self._ended = exec_id is None
        self._active = 0

    def dispatch(self, msg: dict[str, Any]) -> None:
        """Answer one call in a thread of its own (handlers may take minutes)."""
        if msg.get("exec") != self.id or self.id is None:
            self._reply(msg, BlockEnded(_late(msg)))
            return
        thread = threading.Thread(target=self._answer, args=(msg,), name="rlm-sandbox-call")
        thread.daemon = True
        thread.start()

    def end(self, grace_s: float) -> int:
        """Start no handler call from now on; wait up to grace_s for those in flight to return.
        Returns how many are still running (their answers will be dropped)."""
        with self._cond:
            self._ended = True
            self._cond.wait_for(lambda: self._active == 0, timeout=max(0.0, grace_s))
            return self._active

    def _answer(self, msg: dict[str, Any]) -> None:
        try:
            self._reply(msg, self._run(str(msg.get("method")), msg.get("args")))
        except Exception as exc:  # the model's code sees the message as a RuntimeError
            self._reply(msg, exc)

    def _reply(self, msg: dict[str, Any], value: object) -> None:
        if isinstance(value, BaseException):
            reply = {"ok": False, "error": str(value) or type(value).__name__}
        else:
            reply = {"ok": True, "value": value}
        self.send({"op": "reply", "id": msg.get("id"), **reply})

    def _run(self, method: str, args: object) -> object:
        handler = self.handler
        if handler is None:
            raise RuntimeError(f"{method} can only be called while a code block runs")
        if not isinstance(args, list) or not args or not isinstance(args[0], (str, list)):
            raise ValueError(f"bad arguments for {method}")
        if method == "llm_query":
            return str(self._call(lambda: handler.llm_query(str(args[0]))))
        if method == "llm_query_batched":
            if self.batch_limit is not None and len(args[0]) > self.batch_limit:
                raise ValueError(
                    f"llm_query_batched: {len(args[0]):,} prompts in one batch, over the cap of "
                    f"{self.batch_limit:,} (max_batch_prompts)"
                )
            return self._batch([str(p) for p in args[0]])
        if method == "cite":
            cite = getattr(handler, "cite", None)
            if cite is None:
                raise RuntimeError("cite is not available in this REPL")
            return str(cite(str(args[0])))
        if method == "rlm_query":
            context = args[1] if len(args) > 1 else None
            return str(self._call(lambda: handler.rlm_query(str(args[0]), context)))
        raise ValueError(f"unknown call {method!r}")

    def _batch(self, prompts: list[str]) -> list[str]:
        if not prompts:
            return []
        batch_id = uuid.uuid4().hex
        with ThreadPoolExecutor(min(self.width, len(prompts)), "rlm-sandbox-batch") as pool:
            return list(pool.map(self._one_prompt, prompts, range(len(prompts)), repeat(batch_id)))

    def _one_prompt(self, prompt: str, position: int = 0, batch_id: str = "") -> str:
        """One slot of a batch: a failed prompt yields an error string, not a failed batch. A
        handler with `batch_prompt` is told the prompt's place in its batch (for the trace)."""
        assert self.handler is not None
        handler = self.handler
        placed = getattr(handler, "batch_prompt", None)
        try:
            if placed is not None:
                return str(self._call(lambda: placed(prompt, batch_id, position)))
            answers = self._call(lambda: handler.llm_query_batched([prompt]))
            return str(answers[0])
        except Exception as exc:
            return f"Error: {exc}"

    def _call(self, fn: Callable[[], Any]) -> Any:
        with self.slots:
            with self._cond:
                if self._ended:
                    raise BlockEnded("the code block ended before this call could start")
                self._active += 1
            try:
                return fn()
            finally:
                with self._cond:
                    self._active -= 1
                    self._cond.notify_all()


def _late(msg: dict[str, Any]) -> str:
    method = msg.get("method")
    if msg.get("exec") is None:
        return f"{method} can only be called while a code block runs (a thread called it after one)"
    return f"{method} was called by a thread of a code block that has ended; it was not run"
