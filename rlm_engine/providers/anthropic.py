"""Anthropic's Messages API through the official SDK."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rlm_engine.config import Credentials, ModelSpec
from rlm_engine.errors import ProviderAuthError
from rlm_engine.events import Usage
from rlm_engine.providers.base import Completion, Message, Provider
from rlm_engine.providers.retry import (
    NO_KEY_NEEDED,
    RetryPolicy,
    call_with_retries,
    map_sdk_error,
)
from rlm_engine.providers.stops import cut_at_stop

KEY_HINT = "Set ANTHROPIC_API_KEY or enter the key on the Settings page."
CONNECT_TIMEOUT_S = 5.0
DEFAULT_MAX_TOKENS = 4096  # the API requires max_tokens on every call


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
        base_url = spec.base_url or credentials.anthropic_base_url
        api_key = credentials.anthropic_api_key
        if not api_key:
            if not base_url:
                raise ProviderAuthError(f"No Anthropic API key. {KEY_HINT}")
            api_key = NO_KEY_NEEDED
        self._sdk = anthropic
        self._client = anthropic.Anthropic(
            api_key=api_key,
            base_url=base_url,
            timeout=anthropic.Timeout(timeout_s, connect=min(timeout_s, CONNECT_TIMEOUT_S)),
            max_retries=0,  # retries are ours: counted, capped, explained
        )
        self.base_url = str(self._client.base_url).rstrip("/")
        self._where = f"Anthropic at {self.base_url}"
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
    ) -> Completion:
        system, turns = to_anthropic(messages)
        params: dict[str, Any] = {
            "model": self.model,
            "messages": turns,
            "max_tokens": max_tokens or self._default_max_tokens,
        }
        if system:
            params["system"] = system
        # The API refuses whitespace-only stop sequences.
        stops = [s for s in stop or [] if s.strip()]
        if stops:
            params["stop_sequences"] = stops
        # `temperature` is ignored: the Messages API (SDK 2.x) no longer takes it.
        completion = call_with_retries(lambda: self._attempt(params), self._policy, self._where)
        # Whitespace-only stops were not sent: apply every stop here too.
        return replace(completion, text=cut_at_stop(completion.text, stop))

    def _attempt(self, params: dict[str, Any]) -> Completion:
        try:
            response = self._client.messages.create(**params)
        except self._sdk.AnthropicError as exc:
            raise map_sdk_error(exc, self._sdk, self._where, KEY_HINT, self._timeout_s) from None
        text = "".join(block.text for block in response.content if block.type == "text")
        usage = response.usage
        input_tokens = (
            (usage.input_tokens or 0)
            + (getattr(usage, "cache_creation_input_tokens", None) or 0)
            + (getattr(usage, "cache_read_input_tokens", None) or 0)
        )
        return Completion(
            text=text,
            usage=Usage(input_tokens, usage.output_tokens or 0),
            model=response.model or self.model,
        )

    def close(self) -> None:
        self._client.close()
