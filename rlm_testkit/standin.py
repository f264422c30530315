"""A local stand-in for the OpenAI and Anthropic HTTP APIs, scripted per test.

Real HTTP on 127.0.0.1, so the official SDKs run for real (request building, retries, timeouts,
usage parsing); only the model is fake. Replies come, in order of priority, from:

1. failures queued with `fail()` (the next `times` matching requests answer that status),
2. replies queued with `enqueue()` for the request's model, then for any model,
3. rules registered with `on()` (model-specific first), e.g. a sub-model answering from its prompt,
4. otherwise a 500 saying the test scripted nothing, so a broken test fails loudly, not hangs.

Both APIs' prompt caches are modelled (rlm_testkit/standin_cache.py: OpenAI's automatic
`cached_tokens`, Anthropic's `cache_control` reads and writes), and both stream (`stream=True`,
server-sent events as the real APIs send them; rlm_testkit/standin_stream.py).

    with StandIn() as s:
        s.enqueue("hello")
        client = openai.OpenAI(base_url=s.openai_base_url, api_key="test-key")

Usable outside pytest (bench/ uses it too).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from rlm_testkit.standin_cache import (
    CacheUsage,
    PromptCache,
    TooManyBreakpoints,
    anthropic_blocks,
    check_breakpoints,
)
from rlm_testkit.standin_stream import Pacing, send_anthropic_stream, send_openai_stream

__all__ = ["BAD_KEY", "Reply", "Request", "Rule", "StandIn", "estimate_tokens"]

BAD_KEY = "bad-key"  # the API key the stand-in refuses with 401
HOLD_LIMIT_S = 10.0  # see StandIn.hold_until_in_flight()
HANG_LIMIT_S = 120.0  # a hanging reply is released after this, or when the stand-in closes


def estimate_tokens(text: str) -> int:
    """A deterministic token count, so that usage is real data flowing through the SDKs."""
    return len(text) // 4 + 1


@dataclass(frozen=True)
class Reply:
    """One scripted answer. With `status` != 200, `text` is the error message."""

    text: str = ""
    status: int = 200
    input_tokens: int | None = None  # None: estimated from the request
    output_tokens: int | None = None  # None: estimated from the (cut) text
    delay_s: float = 0.0
    hang: bool = False  # never answer (until the stand-in closes): for timeout tests
    retry_after: float | None = None  # sent as a Retry-After header
    ignore_stop: bool = False  # answer the whole text, like a server that ignores stop sequences
    chunk_delay_s: float = 0.0  # when streamed: the pause between pieces of the text
    # when streamed: after this many characters, wait until `stream_gate` is set (or 60 s)
    stream_gate: threading.Event | None = None
    gate_at: int = 0


@dataclass(frozen=True)
class Request:
    """What the stand-in received, normalised across both APIs. System text is in `system` only."""

    api: Literal["openai", "anthropic"]
    model: str
    messages: list[dict[str, str]]  # role/content strings, system messages excluded
    system: str | None
    stop: list[str]
    max_tokens: int | None
    temperature: float | None
    headers: dict[str, str]  # lower-case names
    body: dict[str, Any] = field(repr=False)

    @property
    def prompt(self) -> str:
        """The last user message: what a sub-model is asked."""
        for message in reversed(self.messages):
            if message["role"] == "user":
                return message["content"]
        return ""

    @property
    def api_key(self) -> str | None:
        """The key sent as `x-api-key` or `Authorization: Bearer` (both SDKs may use either)."""
        auth = self.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return self.headers.get("x-api-key") or auth or None


Rule = Callable[[Request], "str | Reply | None"]

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


class StandIn:
    """The server plus its script. Thread-safe; close() (or `with`) stops it."""

    def __init__(self, latency_s: float = 0.0, cache_min_tokens: int | None = None) -> None:
        """`cache_min_tokens`: the shortest prefix either API caches (None: theirs, 1,024)."""
        self.latency_s = latency_s
        self.cache = PromptCache(cache_min_tokens)
        self.requests: list[Request] = []
        self.models: list[str] = ["stand-in-large", "stand-in-small"]  # what /v1/models lists
        self.peak_in_flight = 0
        self._hold: tuple[int, str | None] = (0, None)
        self._in_flight = 0
        self._lock = threading.Lock()
        self._in_flight_changed = threading.Condition(self._lock)
        self._failures: deque[tuple[str | None, Reply]] = deque()
        self._queues: dict[str | None, deque[Reply]] = {}
        self._rules: list[tuple[str | None, Rule]] = []
        self._closing = threading.Event()
        handler = type("Handler", (_Handler,), {"standin": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    # -- scripting ------------------------------------------------------------------------------

    def enqueue(self, *replies: str | Reply, model: str | None = None) -> None:
        """Queue replies, consumed in order, for requests to `model` (None: any model)."""
        with self._lock:
            queue = self._queues.setdefault(model, deque())
            queue.extend(_as_reply(r) for r in replies)

    def hold_until_in_flight(self, count: int, model: str | None = None) -> None:
        """Hold each request (for `model`, or all) until `count` were in flight at once.

        Tests of concurrency then depend on how many calls the client overlaps, not on timing:
        a client that overlaps fewer waits HOLD_LIMIT_S per request and peak_in_flight says so.
        """
        with self._lock:
            self._hold = (count, model)

    def on(self, rule: Rule, model: str | None = None) -> None:
        """Answer by `rule(request)` when no queued reply is left; a rule returning None passes."""
        with self._lock:
            self._rules.append((model, rule))

    def fail(
        self,
        status: int,
        times: int = 1,
        model: str | None = None,
        retry_after: float | None = None,
        message: str | None = None,
    ) -> None:
        """The next `times` requests (to `model`, None: any) answer HTTP `status`."""
        text = message or f"stand-in scripted failure {status}"
        reply = Reply(text=text, status=status, retry_after=retry_after)
        with self._lock:
            self._failures.extend((model, reply) for _ in range(times))

    def remaining(self) -> int:
        """Scripted replies and failures not consumed yet."""
        with self._lock:
            return len(self._failures) + sum(len(q) for q in self._queues.values())

    def close(self) -> None:
        self._closing.set()  # releases hanging replies
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> StandIn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- serving (called from handler threads) ---------------------------------------------------

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def _enter(self, model: str) -> None:
        with self._lock:
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
            self._in_flight_changed.notify_all()
            count, held_model = self._hold
            if held_model in (None, model):
                self._in_flight_changed.wait_for(
                    lambda: self.peak_in_flight >= count, timeout=HOLD_LIMIT_S
                )

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _next_reply(self, request: Request) -> Reply:
        with self._lock:
            for i, (model, reply) in enumerate(self._failures):
                if model in (None, request.model):
                    del self._failures[i]
                    return reply
            for key in (request.model, None):
                queue = self._queues.get(key)
                if queue:
                    return queue.popleft()
            rules = [r for m, r in self._rules if m == request.model]
            rules += [r for m, r in self._rules if m is None]
        for rule in rules:
            try:
                answer = rule(request)
            except Exception as exc:  # a broken rule must fail the test, not the server
                return Reply(text=f"stand-in rule raised {exc!r}", status=500)
            if answer is not None:
                return _as_reply(answer)
        return Reply(
            text=f"stand-in: the test scripted no reply for model {request.model!r} "
            f"(prompt: {request.prompt[:200]!r})",
            status=500,
        )


def _as_reply(value: str | Reply) -> Reply:
    return value if isinstance(value, Reply) else Reply(text=value)


def _text_of(content: Any) -> str:
    """Message content as a string: either a string or a list of {type: text, text} parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def _stops(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _cut(text: str, stops: list[str]) -> tuple[str, str | None]:
    """The text up to the earliest stop string, as a model would produce it, and that stop."""
    best: tuple[int, str] | None = None
    for stop in stops:
        at = text.find(stop) if stop else -1
        if at >= 0 and (best is None or at < best[0]):
            best = (at, stop)
    return (text, None) if best is None else (text[: best[0]], best[1])


def _parse(api: str, body: dict[str, Any], headers: dict[str, str]) -> Request:
    system_parts: list[str] = []
    messages: list[dict[str, str]] = []
    if api == "anthropic" and body.get("system"):
        system_parts.append(_text_of(body["system"]))
    for message in body.get("messages") or []:
        role, content = message.get("role", ""), _text_of(message.get("content"))
        if role in ("system", "developer"):
            system_parts.append(content)
        else:
            messages.append({"role": role, "content": content})
    stop = body.get("stop_sequences") if api == "anthropic" else body.get("stop")
    max_tokens = body.get("max_tokens", body.get("max_completion_tokens"))
    return Request(
        api=api,  # type: ignore[arg-type]
        model=str(body.get("model", "")),
        messages=messages,
        system="\n\n".join(system_parts) if system_parts else None,
        stop=_stops(stop),
        max_tokens=max_tokens,
        temperature=body.get("temperature"),
        headers=headers,
        body=body,
    )


class _Handler(BaseHTTPRequestHandler):
    standin: StandIn  # set on the per-server subclass
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # without it every response gains ~40 ms

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0].rstrip("/") == "/v1/models":
            self._send(200, _models_body(self.standin.models, self.headers))
        else:
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        api = {"/v1/chat/completions": "openai", "/v1/messages": "anthropic"}.get(path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if api is None:
            self._send(404, {"error": {"message": f"no route {path}", "type": "not_found"}})
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._error(api, 400, "request body is not JSON")
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = _parse(api, body, headers)
        standin = self.standin
        standin._record(request)
        standin._enter(request.model)
        try:
            self._answer(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): nothing to answer
        finally:
            standin._leave()

    def _answer(self, request: Request) -> None:
        standin = self.standin
        if not request.api_key:
            self._error(request.api, 401, "stand-in: no API key sent")
            return
        if request.api_key == BAD_KEY:
            self._error(request.api, 401, "Incorrect API key provided.")
            return
        if request.api == "anthropic":
            try:
                check_breakpoints(request.body)
            except TooManyBreakpoints as exc:
                self._error(request.api, 400, str(exc))
                return
        reply = standin._next_reply(request)
        if reply.hang:
            standin._closing.wait(HANG_LIMIT_S)
            self.close_connection = True  # drop the connection without an answer
            return
        pause = standin.latency_s + reply.delay_s
        if pause > 0:
            time.sleep(pause)
        if reply.status != 200:
            self._error(request.api, reply.status, reply.text, reply.retry_after)
            return
        text, stop = _cut(reply.text, [] if reply.ignore_stop else request.stop)
        prompt = (request.system or "") + "".join(m["content"] for m in request.messages)
        input_tokens = reply.input_tokens
        if input_tokens is None:
            input_tokens = estimate_tokens(prompt)
        output_tokens = reply.output_tokens
        if output_tokens is None:
            output_tokens = estimate_tokens(text)
        cached = self._cache_usage(request, prompt, input_tokens)
        stream = bool(request.body.get("stream"))
        if request.api == "openai":
            if stream:
                include_usage = (request.body.get("stream_options") or {}).get("include_usage")
                usage = _openai_usage(input_tokens, output_tokens, cached)
                send_openai_stream(self, request.model, text, usage if include_usage else None,
                                   Pacing.of(reply))  # fmt: skip
                return
            payload = _openai_body(request.model, text, input_tokens, output_tokens, cached)
        else:
            usage = _anthropic_usage(input_tokens, output_tokens, cached)
            if stream:
                send_anthropic_stream(self, request.model, text, stop, usage, Pacing.of(reply))
                return
            payload = _anthropic_body(request.model, text, stop, usage)
        self._send(200, payload)

    def _cache_usage(self, request: Request, prompt: str, input_tokens: int) -> CacheUsage:
        """What the provider's prompt cache did for this request (within `input_tokens`)."""
        cache = self.standin.cache
        if request.api == "openai":
            found = cache.openai(request.model, prompt)
        else:
            found = cache.anthropic(request.model, anthropic_blocks(request.body))
        read = min(found.read, input_tokens)
        return CacheUsage(read=read, written=min(found.written, input_tokens - read))

    def _error(self, api: str, status: int, message: str, retry_after: float | None = None) -> None:
        kind = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        if api == "anthropic":
            payload: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": message}}
        else:
            payload = {"error": {"message": message, "type": kind, "param": None, "code": kind}}
        extra = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
        self._send(status, payload, extra)

    def _send(self, status: int, payload: dict[str, Any], extra: dict[str, str] | None = None):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _models_body(models: list[str], headers: Any) -> dict[str, Any]:
    """GET /v1/models as either API answers it (the Anthropic SDK sends `anthropic-version`)."""
    if headers.get("anthropic-version"):
        data = [
            {"id": m, "type": "model", "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
            for m in models
        ]
        first, last = (models[0], models[-1]) if models else (None, None)
        return {"data": data, "has_more": False, "first_id": first, "last_id": last}
    data = [{"id": m, "object": "model", "created": 0, "owned_by": "stand-in"} for m in models]
    return {"object": "list", "data": data}


def _openai_usage(input_tokens: int, output_tokens: int, cached: CacheUsage) -> dict[str, Any]:
    return {
        "prompt_tokens": input_tokens,
        "completion_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
        "prompt_tokens_details": {"cached_tokens": cached.read},
    }


def _anthropic_usage(input_tokens: int, output_tokens: int, cached: CacheUsage) -> dict[str, Any]:
    """Anthropic counts cache reads and writes apart from `input_tokens`."""
    return {
        "input_tokens": input_tokens - cached.read - cached.written,
        "output_tokens": output_tokens,
        "cache_read_input_tokens": cached.read,
        "cache_creation_input_tokens": cached.written,
    }


def _openai_body(
    model: str, text: str, input_tokens: int, output_tokens: int, cached: CacheUsage
) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": _openai_usage(input_tokens, output_tokens, cached),
    }


def _anthropic_body(
    model: str, text: str, stop: str | None, usage: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn" if stop is None else "stop_sequence",
        "stop_sequence": stop,
        "usage": usage,
    }
