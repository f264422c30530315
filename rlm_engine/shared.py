"""What the whole tree of one run shares: budgets, providers, the event sink, cancellation.

A run and every child RLM it starts hold the same `RunShared`, so budgets, the providers' clients
and the rule "no event after RunFinished" hold across the tree.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from rlm_engine.config import Credentials, ModelSpec, RunConfig
from rlm_engine.errors import Cancelled
from rlm_engine.events import Event, RunFinished, Usage
from rlm_engine.limits import BudgetTracker
from rlm_engine.providers import Completion, Message, Provider, make_provider
from rlm_engine.providers.base import OnText, watch_abandoned
from rlm_engine.subcall_cache import SubCallCache
from rlm_engine.text import valid_text

log = logging.getLogger(__name__)

EventCallback = Callable[[Event], None]
T = TypeVar("T")

_POLL_S = 0.1
"""How often a wait for a model call looks at the cancel flag: a stop takes effect this fast."""


class Halt:
    """Whether one RLM must stop now: the run was stopped, or, for a child RLM, the code block
    that called it (or an ancestor's) has ended. Passed to the sandbox as its stop signal."""

    def __init__(self, cancel: threading.Event, parent: Halt | None = None) -> None:
        self.cancel = cancel
        self.parent = parent
        self._ended = threading.Event()

    def end(self) -> None:
        self._ended.set()

    def is_set(self) -> bool:
        if self._ended.is_set() or self.cancel.is_set():
            return True
        return self.parent is not None and self.parent.is_set()

    def check(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("The run was stopped.")
        if self.is_set():
            raise Cancelled("The code block that called this child RLM has ended.")


class OutOfTime(Exception):
    """The time budget ran out while waiting for a model call (the call was abandoned)."""


class RunShared:
    """What the whole tree of one run shares: budgets, providers, the event sink, cancellation."""

    def __init__(
        self,
        run_id: str,
        config: RunConfig,
        credentials: Credentials,
        on_event: EventCallback | None,
        cancel: threading.Event,
        sub_call_cache: SubCallCache | None = None,
        corpus: str = "",
    ) -> None:
        self.run_id = run_id
        self.config = config
        self.credentials = credentials
        self.tracker = BudgetTracker(config.budgets)
        # Sandboxes child RLMs may hold at once: each has its own uid, so no per-uid process
        # limit caps the tree; the top-level RLM's sandbox is one of `max_sandboxes`.
        self.child_sandboxes = max(0, config.max_sandboxes - 1)
        self.sandbox_slots = threading.BoundedSemaphore(max(1, self.child_sandboxes))
        self.cancel = cancel
        self._on_event = on_event
        self.sources: Any = None  # the run's SourceTracker (rlm_engine.sources), if any
        self._emit_lock = threading.Lock()
        self._ended = False
        self._providers: dict[ModelSpec, Provider] = {}
        self._providers_lock = threading.Lock()
        # the store of sub-call answers, when the config asks for it and the caller gave one
        self.sub_call_cache = sub_call_cache if config.sub_call_cache else None
        self.corpus = corpus  # the corpus' fingerprint: cached answers belong to one corpus

    def emit(self, event: Event) -> None:
        """Deliver an event; a failing consumer is logged, never allowed to kill the run.

        Nothing is delivered after the run's RunFinished: a call abandoned by a cancel may still
        be answered by a thread the run no longer waits for.
        """
        with self._emit_lock:
            if self._ended or self._on_event is None:
                return
            try:
                self._on_event(event)
            except Exception:
                log.exception("An event consumer failed on %s", event.type)
            if isinstance(event, RunFinished) and event.depth == 0:
                self._ended = True

    def provider(self, spec: ModelSpec) -> Provider:
        with self._providers_lock:
            if spec not in self._providers:
                self._providers[spec] = ValidText(
                    make_provider(
                        spec,
                        self.credentials,
                        timeout_s=self.config.request_timeout_s,
                        max_retries=self.config.max_retries,
                    )
                )
            return self._providers[spec]

    def cost(self, spec: ModelSpec, usage: Usage) -> float | None:
        from rlm_engine.pricing import cost_usd

        return cost_usd(spec, usage, self.config.price_overrides)

    def wait_for(self, call: Callable[[], T], *, deadline: float | None, halt: Halt) -> T:
        """`call()` run in a thread of its own, waited for until it returns, `halt` is set
        (Cancelled) or `deadline` passes (OutOfTime), whichever comes first.

        A provider call cannot be interrupted, so a stop must not wait for it: the call is
        abandoned and its result, when it comes, is dropped; the provider is told
        (`providers.base.abandoned`), and the local one stops writing at its next token.
        """
        done = threading.Event()
        given_up = threading.Event()
        box: dict[str, Any] = {}

        def work() -> None:
            watch_abandoned(given_up)
            try:
                box["value"] = call()
            except BaseException as exc:  # handed to the waiting thread
                box["error"] = exc
            finally:
                done.set()

        threading.Thread(target=work, daemon=True, name="rlm-model-call").start()
        try:
            while True:
                left = None if deadline is None else deadline - time.monotonic()
                if done.wait(_POLL_S if left is None else max(0.0, min(_POLL_S, left))):
                    break
                halt.check()
                if deadline is not None and time.monotonic() >= deadline:
                    raise OutOfTime()
        except BaseException:
            given_up.set()  # a provider that can stop early does (providers.base.abandoned)
            raise
        if "error" in box:
            raise box["error"]
        return box["value"]

    def close(self) -> None:
        for provider in self._providers.values():
            provider.close()


class ValidText(Provider):
    """A provider whose requests and replies hold valid text only: model code can print lone
    surrogates (valid JSON, invalid UTF-8), which would fail the request body's encoding."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner
        self.name, self.model = inner.name, inner.model

    def complete(
        self,
        messages: list[Message],
        *,
        stop: list[str] | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        on_text: OnText | None = None,
        conversation: str | None = None,
    ) -> Completion:
        sent: list[Message] = [
            {"role": m["role"], "content": valid_text(m["content"])} for m in messages
        ]
        done = self.inner.complete(
            sent,
            stop=stop,
            max_tokens=max_tokens,
            temperature=temperature,
            on_text=on_text,
            conversation=conversation,
        )
        text = valid_text(done.text)
        return done if text is done.text else replace(done, text=text)

    def close(self) -> None:
        self.inner.close()
