"""Anthropic's Messages API through the official SDK."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rlm_engine.config import Credentials, ModelSpec
from rlm_engine.errors import ProviderAuthError
from rlm_engine.events import Usage
from rlm_engine.providers.base import Completion, Message, OnText, Provider, StreamClock
from rlm_engine.providers.registry import key_hint, provider_title
from rlm_engine.providers.retry import (
    NO_KEY_NEEDED,
    RetryPolicy,
    broken_stream,
    call_with_retries,
    map_sdk_error,
)
from rlm_engine.providers.stops import cut_at_stop

CONNECT_TIMEOUT_S = 5.0
DEFAULT_MAX_TOKENS = 4096  # the API requires max_tokens on every call
CACHED = {"type": "ephemeral"}
"""A cache breakpoint (5 minutes). The API allows 4 per request; a conversation uses 2."""


def to_anthropic(messages: list[Message]) -> tuple[str | None, list[dict[str, str]]]:
    """Split out the system prompt and merge consecutive same-role messages (the API requires
    alternating turns). Empty text is refused by the API, so empty turns say "(empty)"."""
    system = [m["content"] for m in messages if m["role"] == "system"]
    turns: list[dict[str, str]] = []
    for message in messages:
        if message["role"] == "system":
            continue
        if turns and turns[-1]["role"] == message["role"]:
            turns[-1]["content"] += "\n\n" + message["content"]
        else:
            turns.append({"role": message["role"], "content": message["content"]})
    for turn in turns:
        if not turn["content"].strip():
            turn["content"] = "(empty)"
    return ("\n\n".join(system) if system else None), turns


def with_cache_breakpoints(
    system: str | None, turns: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]]]:
    """Mark the system prompt and the whole conversation so far (its last turn) for caching.

    The next turn repeats this prefix and adds to it; the API finds the previous breakpoint by
    looking back up to 20 blocks, so two breakpoints (of the 4 allowed) cover the growing
    history: each turn reads the cached prefix at a tenth of the price and writes only what is
    new. Prefixes under the model's minimum (1,024-4,096 tokens) are not cached, and cost as
    usual.
    """
    blocks = None
    if system:
        blocks = [{"type": "text", "text": system, "cache_control": CACHED}]
    marked = list(turns)
    if marked:
        last = marked[-1]
        marked[-1] = {
            "role": last["role"],
            "content": [{"type": "text", "text": last["content"], "cache_control": CACHED}],
        }
    return blocks, marked


class AnthropicProvider(Provider):
    """One SDK client per provider, made once; the SDK client is thread-safe."""

    name = "anthropic"

    def __init__(
        self,
        spec: ModelSpec,
        credentials: Credentials,
        *,
        timeout_s: float = 120.0,
        max_retries: int = 3,
        backoff_s: float = 0.5,
        default_max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> None:
        import anthropic

        self.model = spec.model
        self._title, self._key_hint = provider_title(spec.provider), key_hint(spec.provider)
        base_url = spec.base_url or credentials.base_url(spec.provider)
        api_key = credentials.key(spec.provider)
        if not api_key:
            if not base_url:
                raise ProviderAuthError(f"No {self._title} API key. {self._key_hint}")
            api_key = NO_KEY_NEEDED
        self._sdk = anthropic
        self._client = anthropic.Anthropic(
            api_key=api_key,
            base_url=base_url,
            timeout=anthropic.Timeout(timeout_s, connect=min(timeout_s, CONNECT_TIMEOUT_S)),
            max_retries=0,  # retries are ours: counted, capped, explained
        )
        self.base_url = str(self._client.base_url).rstrip("/")
        self._where = f"{self._title} at {self.base_url}"
        self._policy = RetryPolicy(max_retries=max_retries, backoff_s=backoff_s)
        self._timeout_s = timeout_s
        self._default_max_tokens = default_max_tokens

    def __repr__(self) -> str:
        return f"AnthropicProvider(model={self.model!r}, base_url={self.base_url!r})"

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
        system, turns = to_anthropic(messages)
        params: dict[str, Any] = {
            "model": self.model,
            "messages": turns,
            "max_tokens": max_tokens or self._default_max_tokens,
        }
        if system:
            params["system"] = system
        if conversation is not None:  # a one-off call would pay the write and never read it
            params["system"], params["messages"] = with_cache_breakpoints(system, turns)
            if params["system"] is None:
                del params["system"]
        # The API refuses whitespace-only stop sequences.
        stops = [s for s in stop or [] if s.strip()]
        if stops:
            params["stop_sequences"] = stops
        # `temperature` is ignored: the Messages API (SDK 2.x) no longer takes it.
        completion = call_with_retries(
            lambda: self._attempt(params, on_text), self._policy, self._where
        )
        # Whitespace-only stops were not sent: apply every stop here too.
        return replace(completion, text=cut_at_stop(completion.text, stop))

    def _attempt(self, params: dict[str, Any], on_text: OnText | None) -> Completion:
        clock = StreamClock(on_text)
        try:
            if on_text is not None:
                return self._stream(params, clock)
            response = self._client.messages.create(**params)
        except self._sdk.AnthropicError as exc:
            raise map_sdk_error(
                exc, self._sdk, self._where, self._key_hint, self._timeout_s
            ) from None
        except Exception as exc:
            raise broken_stream(exc) or exc from None
        text = "".join(block.text for block in response.content if block.type == "text")
        usage = _usage(response.usage)
        return Completion(
            text=text,
            usage=usage,
            model=response.model or self.model,
            tokens_per_s=clock.tokens_per_s(usage.output_tokens),
        )

    def _stream(self, params: dict[str, Any], clock: StreamClock) -> Completion:
        """A streamed reply: text deltas handed on as they come; usage from message_start
        (input and cache tokens) and message_delta (output tokens, running total)."""
        parts: list[str] = []
        usage: Any = None
        output_tokens = 0
        model = self.model
        with self._client.messages.create(**params, stream=True) as stream:
            for event in stream:
                if event.type == "message_start":
                    usage, model = event.message.usage, event.message.model or model
                    output_tokens = usage.output_tokens or 0
                elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                    parts.append(event.delta.text)
                    clock.piece(event.delta.text)
                elif event.type == "message_delta" and event.usage is not None:
                    output_tokens = event.usage.output_tokens or output_tokens
        counted = _usage(usage)
        counted = replace(counted, output_tokens=output_tokens)
        return Completion(
            text="".join(parts),
            usage=counted,
            model=model,
            tokens_per_s=clock.tokens_per_s(output_tokens),
            first_token_s=clock.first,
        )

    def close(self) -> None:
        self._client.close()


def _usage(usage: Any) -> Usage:
    """All prompt tokens as `input_tokens` (the API counts cache reads and writes apart)."""
    if usage is None:
        return Usage()
    read = getattr(usage, "cache_read_input_tokens", None) or 0
    written = getattr(usage, "cache_creation_input_tokens", None) or 0
    return Usage(
        (usage.input_tokens or 0) + read + written,
        usage.output_tokens or 0,
        cached_tokens=read,
        cache_write_tokens=written,
    )
