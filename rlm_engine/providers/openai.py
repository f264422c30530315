"""OpenAI and OpenAI-compatible servers (vLLM, Ollama, llama.cpp) through the official SDK."""

from __future__ import annotations

from typing import Any

from rlm_engine.config import Credentials, ModelSpec
from rlm_engine.errors import ProviderAuthError, ProviderError
from rlm_engine.events import Usage
from rlm_engine.providers.base import Completion, Message, OnText, Provider, StreamClock
from rlm_engine.providers.lazy_sdk import import_sdk
from rlm_engine.providers.registry import key_hint, provider_title
from rlm_engine.providers.retry import (
    NO_KEY_NEEDED,
    RetryPolicy,
    broken_stream,
    call_with_retries,
    map_sdk_error,
)
from rlm_engine.providers.stops import cut_at_stop

CONNECT_TIMEOUT_S = 5.0  # a dead endpoint must fail fast even when answers may take minutes
MAX_OPENAI_STOPS = 4  # api.openai.com refuses more; the rest are applied on our side


class OpenAIProvider(Provider):
    """One SDK client per provider, made once; the SDK client is thread-safe."""

    name = "openai"

    def __init__(
        self,
        spec: ModelSpec,
        credentials: Credentials,
        *,
        timeout_s: float = 120.0,
        max_retries: int = 3,
        backoff_s: float = 0.5,
    ) -> None:
        openai = import_sdk("openai")  # ~0.3 s: only when an OpenAI model is actually used

        self.model = spec.model
        self._title, self._key_hint = provider_title(spec.provider), key_hint(spec.provider)
        base_url = spec.base_url or credentials.base_url(spec.provider)
        api_key = credentials.key(spec.provider)
        if not api_key:
            if not base_url:
                raise ProviderAuthError(f"No {self._title} API key. {self._key_hint}")
            api_key = NO_KEY_NEEDED  # local servers often need none; a 401 says otherwise
        self._sdk = openai
        self._client = openai.OpenAI(
            api_key=api_key,
            base_url=base_url,
            timeout=openai.Timeout(timeout_s, connect=min(timeout_s, CONNECT_TIMEOUT_S)),
            max_retries=0,  # retries are ours: counted, capped, explained
        )
        self.base_url = str(self._client.base_url).rstrip("/")
        self._where = f"{self._title} at {self.base_url}"
        self._policy = RetryPolicy(max_retries=max_retries, backoff_s=backoff_s)
        self._timeout_s = timeout_s
        # api.openai.com wants max_completion_tokens (reasoning models refuse max_tokens);
        # compatible servers know max_tokens best.
        official = "api.openai.com" in self.base_url
        self._max_tokens_param = "max_completion_tokens" if official else "max_tokens"
        self._max_stops = MAX_OPENAI_STOPS if official else None
        self._send_stop = True  # turned off once the model says it does not support `stop`
        self._stream_usage = True  # turned off once a server refuses `stream_options`

    def __repr__(self) -> str:
        return f"OpenAIProvider(model={self.model!r}, base_url={self.base_url!r})"

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
        # `conversation` needs nothing here: OpenAI caches any repeated prefix of 1,024+ tokens
        # by itself and reports it as `cached_tokens`.
        params: dict[str, Any] = {"model": self.model, "messages": messages}
        if max_tokens is not None:
            params[self._max_tokens_param] = max_tokens
        if temperature is not None:
            params["temperature"] = temperature
        return call_with_retries(
            lambda: self._attempt(params, stop, on_text), self._policy, self._where
        )

    def _attempt(
        self, base: dict[str, Any], stop: list[str] | None, on_text: OnText | None
    ) -> Completion:
        params = base
        if stop and self._send_stop:
            params = {**base, "stop": list(stop)[: self._max_stops]}
        streaming = on_text is not None
        if streaming:
            params = {**params, "stream": True}
            if self._stream_usage:
                params["stream_options"] = {"include_usage": True}
        clock = StreamClock(on_text)
        try:
            response = self._client.chat.completions.create(**params)
            if streaming:
                return self._read_stream(response, clock, stop)
        except self._sdk.OpenAIError as exc:
            error = map_sdk_error(exc, self._sdk, self._where, self._key_hint, self._timeout_s)
            if "stop" in params and _refuses_stop(error):
                self._send_stop = False  # reasoning models refuse `stop`: cut on our side
                return self._attempt(base, stop, on_text)
            if "stream_options" in params and _refuses(error, "stream_options"):
                self._stream_usage = False  # an older compatible server: stream without usage
                return self._attempt(base, stop, on_text)
            raise error from None
        except Exception as exc:
            raise broken_stream(exc) or exc from None
        text = response.choices[0].message.content if response.choices else None
        usage = _usage(response.usage)
        return Completion(
            text=cut_at_stop(text or "", stop),
            usage=usage,
            model=response.model or self.model,
            tokens_per_s=clock.tokens_per_s(usage.output_tokens),
        )

    def _read_stream(self, stream: Any, clock: StreamClock, stop: list[str] | None) -> Completion:
        """The pieces of a streamed reply, handed on as they come; usage from its last chunk."""
        parts: list[str] = []
        usage, model = Usage(), self.model
        with stream:
            for chunk in stream:
                model = chunk.model or model
                if chunk.usage:
                    usage = _usage(chunk.usage)
                if chunk.choices:
                    piece = chunk.choices[0].delta.content
                    if piece:
                        parts.append(piece)
                        clock.piece(piece)
        return Completion(
            text=cut_at_stop("".join(parts), stop),
            usage=usage,
            model=model,
            tokens_per_s=clock.tokens_per_s(usage.output_tokens),
            first_token_s=clock.first,
        )

    def close(self) -> None:
        self._client.close()


def _usage(usage: Any) -> Usage:
    """The SDK's usage, with the prompt tokens OpenAI read from its cache (`cached_tokens`)."""
    if usage is None:
        return Usage()
    details = getattr(usage, "prompt_tokens_details", None)
    return Usage(
        usage.prompt_tokens or 0,
        usage.completion_tokens or 0,
        cached_tokens=(getattr(details, "cached_tokens", None) or 0) if details else 0,
    )


def _refuses_stop(error: Exception) -> bool:
    """A 400 such as "Unsupported parameter: 'stop' is not supported with this model."."""
    return _refuses(error, "'stop'")


def _refuses(error: Exception, parameter: str) -> bool:
    """A 400 saying that `parameter` is unsupported (or unknown) by this model or server."""
    message = str(error).lower()
    return (
        type(error) is ProviderError
        and parameter.lower() in message
        and any(word in message for word in ("unsupported", "not supported", "unrecognized"))
    )
