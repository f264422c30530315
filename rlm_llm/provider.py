"""The engine's Provider interface over an `llm` model: llm's keys, aliases and plugins."""

from __future__ import annotations

import threading

import llm

from rlm_engine.config import ModelSpec
from rlm_engine.errors import ProviderAuthError, ProviderError
from rlm_engine.events import Usage
from rlm_engine.providers.base import Completion, Message, OnText, Provider


class ResponseLog:
    """The `llm` responses of one run, kept to be logged at its end from the main thread
    (sqlite connections are not shared between the threads that make sub-calls)."""

    def __init__(self) -> None:
        self._responses: list[llm.Response] = []
        self._lock = threading.Lock()

    def add(self, response: llm.Response) -> None:
        with self._lock:
            self._responses.append(response)

    def log_all(self) -> int:
        import sqlite_utils
        from llm.cli import logs_db_path
        from llm.migrations import migrate

        with self._lock:
            responses, self._responses = self._responses, []
        path = logs_db_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite_utils.Database(path) as db:
            migrate(db)
            for response in responses:
                response.log_to_db(db)
        return len(responses)


class LLMProvider(Provider):
    """One `llm` model. The chat history goes in as llm's `messages=`; options the model does not
    take (a stop sequence, a token limit) are left out rather than failing the call."""

    name = "llm"

    def __init__(self, spec: ModelSpec, log: ResponseLog) -> None:
        try:
            self._model = llm.get_model(spec.model)
        except llm.UnknownModelError as exc:
            raise ProviderError(f"llm does not know the model {spec.model!r}: {exc}") from None
        self.model = self._model.model_id
        self._log = log

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
        # `conversation` needs nothing here: llm's plugins cache (or not) on their own.
        history = [_to_llm(message) for message in messages]
        fields = getattr(self._model.Options, "model_fields", {})
        options: dict[str, object] = {}
        if stop and "stop" in fields:
            options["stop"] = stop[0]  # llm's OpenAI models take one stop sequence
        if max_tokens and "max_tokens" in fields:
            options["max_tokens"] = max_tokens
        if temperature is not None and "temperature" in fields:
            options["temperature"] = temperature
        try:
            streaming = on_text is not None
            response = self._model.prompt(None, messages=history, stream=streaming, **options)
            if on_text is not None:
                for piece in response:  # the reply as the model writes it
                    if piece:
                        on_text(piece)
            text = response.text()
        except llm.errors.NeedsKeyException as exc:
            raise ProviderAuthError(f"{exc} (set it with `llm keys set`)") from None
        except Exception as exc:  # a plugin's own SDK errors: one type for the engine
            raise ProviderError(f"{type(exc).__name__}: {exc}") from None
        self._log.add(response)
        usage = response.usage()
        return Completion(
            text=text,
            usage=Usage(input_tokens=usage.input or 0, output_tokens=usage.output or 0),
            model=self.model,
        )


def _to_llm(message: Message) -> llm.parts.Message:
    build = {"system": llm.parts.system, "assistant": llm.parts.assistant}.get(
        message["role"], llm.parts.user
    )
    return build(message["content"])
