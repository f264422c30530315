"""The local provider: llama.cpp in this process, through the prebuilt `xllamacpp` wheel.

One server per model file per process, started on first use and shared by every provider on that
file (root and sub model, all sessions): a 1.5B model costs 2.6 GB of memory, so it is loaded once.
Calls go straight to the server's native chat-completions handler (no HTTP in between; it releases
the GIL). The server also listens on 127.0.0.1 on a random port; it requires a random key that only
this process knows, so model-written code in the sandbox cannot use it to dodge the budgets.
At most `N_PARALLEL` requests run at once; the others wait in line.

Turns of one conversation (the root model's) repeat the same prefix (system prompt and history),
so only the new tokens are read (`cache_prompt`): llama.cpp gives a request the idle slot whose
cached prompt shares the most with it, and a prompt pushed out of a slot (by another session or a
sub-call) is kept in its prompt cache in RAM (`CACHE_RAM_MIB`) and restored when its conversation
comes back. Pinning a conversation to a slot (`id_slot`) was measured worse: a pinned request
is not restored from RAM, so two sessions alternating lost their prefixes (tests/test_local.py).
"""

from __future__ import annotations

import atexit
import os
import secrets
import threading
from pathlib import Path
from typing import Any

from rlm_engine.config import Credentials, ModelSpec
from rlm_engine.errors import ConfigError, ProviderError
from rlm_engine.events import Usage
from rlm_engine.local_models import resolve_model_file
from rlm_engine.providers.base import (
    Completion,
    Message,
    OnText,
    Provider,
    StreamClock,
    abandoned,
)

N_PARALLEL = 2
DEFAULT_N_CTX = 16_384
"""Tokens of KV cache shared by the slots (`RLM_LOCAL_N_CTX` overrides): ~0.5 GB for the 1.5B."""
DEFAULT_MAX_TOKENS = 2_048
"""Reply cap when the caller sets none (`RLM_LOCAL_MAX_TOKENS` overrides): small models can loop."""
CACHE_RAM_MIB = 2_048
"""RAM for prompts pushed out of a slot, restored when they return (llama.cpp default: 8 GiB)."""


class _LocalServer:
    """One loaded model and a line of requests in front of it."""

    def __init__(self, path: Path, n_ctx: int, n_threads: int) -> None:
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = n_ctx
        params.n_parallel = N_PARALLEL
        params.kv_unified = True  # any one request may use the whole window
        params.cpuparams.n_threads = n_threads
        params.cpuparams_batch.n_threads = n_threads
        params.hostnames = ["127.0.0.1"]
        params.port = 0
        params.api_keys = [secrets.token_hex(16)]
        params.verbosity = -1
        params.cache_ram_mib = CACHE_RAM_MIB
        try:
            self._server: Any = xllamacpp.Server(params)
        except RuntimeError as exc:
            raise ConfigError(
                f"llama.cpp could not load {path}: is it a GGUF model file? ({exc})"
            ) from exc
        self.path = path
        self.n_ctx = n_ctx
        self._slots = threading.BoundedSemaphore(N_PARALLEL)

    def chat(self, request: dict[str, Any], on_chunk: Any) -> dict[str, Any] | None:
        """Streamed: each chunk goes to `on_chunk` (which returns True to stop); the result is
        None, or an error dict when the request was refused before streaming."""
        with self._slots:
            server = self._server
            if server is None:
                raise ProviderError("The local model was shut down; start a new run.")
            return server.handle_chat_completions(request, on_chunk)

    def close(self) -> None:
        for _ in range(N_PARALLEL):  # wait for the requests in flight
            self._slots.acquire()
        self._server = None  # the native destructor stops the server's threads
        for _ in range(N_PARALLEL):  # requests still in line get a clear error
            self._slots.release()


_servers: dict[Path, _LocalServer] = {}
_servers_lock = threading.Lock()
_atexit_registered = False


def _env_tokens(name: str, default: int) -> int:
    configured = os.environ.get(name)
    if not configured:
        return default
    try:
        return max(1, int(configured))
    except ValueError:
        raise ConfigError(f"{name} must be a number of tokens, not {configured!r}.") from None


def _reuse_prompts() -> bool:
    """KV-cache reuse across calls; `RLM_LOCAL_PROMPT_CACHE=0` turns it off (to measure it)."""
    return os.environ.get("RLM_LOCAL_PROMPT_CACHE", "1").strip() not in ("0", "false", "no")


def context_window() -> int:
    """The window, in tokens, every local model is served with (one request may use all of it)."""
    return _env_tokens("RLM_LOCAL_N_CTX", DEFAULT_N_CTX)


def _server_for(path: Path) -> _LocalServer:
    """The shared server for `path`, loading the model on first use (seconds, once)."""
    global _atexit_registered
    key = path.resolve()
    with _servers_lock:
        server = _servers.get(key)
        if server is None:
            server = _LocalServer(key, context_window(), os.cpu_count() or 2)
            _servers[key] = server
            if not _atexit_registered:
                atexit.register(shutdown_local_servers)
                _atexit_registered = True
        return server


def loaded_models() -> list[Path]:
    """The model files this process has loaded, one server each."""
    with _servers_lock:
        return list(_servers)


def shutdown_local_servers() -> None:
    """Stop every local server of this process and free the models' memory."""
    with _servers_lock:
        servers = list(_servers.values())
        _servers.clear()
    for server in servers:
        server.close()


class LocalProvider(Provider):
    """A GGUF model (catalogue name or path) served by llama.cpp; usage reported, cost 0."""

    name = "local"

    def __init__(
        self,
        spec: ModelSpec,
        credentials: Credentials | None = None,
        *,
        timeout_s: float = 120.0,
        max_retries: int = 0,
    ) -> None:
        """`credentials` and `max_retries` are unused: the server is ours, on this machine."""
        self.model = spec.model
        self._path = resolve_model_file(spec.model)  # a missing model says how to get it
        self._timeout_s = timeout_s

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
        server = _server_for(self._path)
        request: dict[str, Any] = {
            "messages": [dict(m) for m in messages],
            "max_tokens": max_tokens or _env_tokens("RLM_LOCAL_MAX_TOKENS", DEFAULT_MAX_TOKENS),
            "temperature": 0.0 if temperature is None else temperature,
            # llama.cpp's own limit on generation time; prompt processing is not interrupted
            "t_max_predict_ms": int(self._timeout_s * 1000),
            # keep the prompt's KV cache: the next turn starts from it
            "cache_prompt": _reuse_prompts(),
        }
        if stop:
            request["stop"] = list(stop)
        clock = StreamClock(on_text)
        try:
            # streamed even when nobody reads the pieces: a stream can be stopped when the
            # engine abandons the call, a single reply only runs to its end
            response = self._stream(server, request, clock, abandoned())
        except (ValueError, RuntimeError) as exc:
            raise ProviderError(f"The local model refused the request: {exc}") from exc
        return self._completion(response, server.n_ctx, clock)

    def _stream(
        self,
        server: _LocalServer,
        request: dict[str, Any],
        clock: StreamClock,
        given_up: threading.Event | None = None,
    ) -> dict[str, Any]:
        """Stream the reply through `clock`; the chunks folded into one non-streamed reply.
        Once `given_up` is set, the next chunk stops the generation (returning True from the
        callback tells llama.cpp to stop)."""
        parts: list[str] = []
        folded: dict[str, Any] = {}

        def on_chunk(chunk: dict[str, Any]) -> bool:
            if chunk.get("error"):
                folded["error"] = chunk["error"]
            for choice in chunk.get("choices") or []:
                piece = (choice.get("delta") or {}).get("content")
                if piece:
                    parts.append(piece)
                    clock.piece(piece)
            for key in ("usage", "timings"):
                if chunk.get(key):
                    folded[key] = chunk[key]
            return given_up is not None and given_up.is_set()

        request = {**request, "stream": True, "stream_options": {"include_usage": True}}
        answer = server.chat(request, on_chunk)
        if isinstance(answer, dict) and answer.get("error"):  # refused before streaming
            return answer
        folded["choices"] = [{"message": {"content": "".join(parts)}}]
        return folded

    def _completion(self, response: dict[str, Any], n_ctx: int, clock: StreamClock) -> Completion:
        error = response.get("error")
        if error:
            if error.get("type") == "exceed_context_size_error":
                window = error.get("n_ctx", n_ctx)
                raise ProviderError(
                    f"The prompt ({error.get('n_prompt_tokens')} tokens) does not fit the local "
                    f"model's window of {window} tokens: send less text per call, or raise "
                    "RLM_LOCAL_N_CTX."
                )
            raise ProviderError(f"The local model failed: {error.get('message', error)}")
        text = response["choices"][0]["message"].get("content") or ""
        usage = response.get("usage") or {}
        details = usage.get("prompt_tokens_details") or {}
        speed = (response.get("timings") or {}).get("predicted_per_second")
        return Completion(
            text=text,
            usage=Usage(
                usage.get("prompt_tokens", 0),
                usage.get("completion_tokens", 0),
                cached_tokens=details.get("cached_tokens") or 0,
            ),
            model=self.model,
            tokens_per_s=float(speed) if speed else None,
            first_token_s=clock.first,
        )
