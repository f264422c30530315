"""The one small interface every model provider implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal, TypedDict

from rlm_engine.events import Usage


class Message(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Completion:
    """A model's reply to one call, with the usage the provider reported."""

    text: str
    usage: Usage
    model: str


class Provider(ABC):
    """Turns chat messages into one completion.

    Implementations map their SDK's errors once, here: `ProviderAuthError` for a missing or refused
    key, `ProviderUnavailable` once retries (429, 5xx, timeouts, connection errors) are spent,
    `ProviderError` otherwise. They must be safe to call from several threads at once.
    """

    name: str
    model: str

    @abstractmethod
    def complete(
        self,
        messages: list[Message],
        *,
        stop: list[str] | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Completion: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the provider is not used afterwards."""
