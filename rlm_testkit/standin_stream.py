"""Streamed replies of the stand-in: server-sent events shaped as each API sends them.

The text goes out in pieces of a few characters (`chunk_delay_s` apart), so clients see deltas
arrive; the connection closes after the last event.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

PIECE_CHARS = 8
GATE_LIMIT_S = 60.0


@dataclass(frozen=True)
class Pacing:
    """How a reply streams: `delay_s` between pieces (none before the first); after `gate_at`
    characters, a wait for `gate` (a test shows what arrived so far, then lets the rest come)."""

    delay_s: float = 0.0
    gate: threading.Event | None = None
    gate_at: int = 0

    @classmethod
    def of(cls, reply: Any) -> Pacing:
        return cls(reply.chunk_delay_s, reply.stream_gate, reply.gate_at)

    def pieces(self, text: str) -> Iterator[str]:
        sent = 0
        for i in range(0, len(text), PIECE_CHARS):
            if self.gate is not None and sent >= self.gate_at:
                self.gate.wait(GATE_LIMIT_S)
            if self.delay_s and i:  # between pieces: the first goes as soon as it may
                time.sleep(self.delay_s)
            piece = text[i : i + PIECE_CHARS]
            sent += len(piece)
            yield piece


def _start(handler: Any) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.send_header("Cache-Control", "no-cache")
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.close_connection = True


def _event(handler: Any, data: Any, name: str | None = None) -> None:
    lines = f"event: {name}\n" if name else ""
    payload = data if isinstance(data, str) else json.dumps(data)
    handler.wfile.write(f"{lines}data: {payload}\n\n".encode())
    handler.wfile.flush()


def send_openai_stream(
    handler: Any, model: str, text: str, usage: dict[str, Any] | None, pacing: Pacing
) -> None:
    """chat.completion.chunk events; the usage chunk (no choices) last when asked for."""
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }
    _start(handler)
    first = {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
    _event(handler, {**base, "choices": [first]})
    for piece in pacing.pieces(text):
        choice = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
        _event(handler, {**base, "choices": [choice]})
    _event(handler, {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    if usage is not None:
        _event(handler, {**base, "choices": [], "usage": usage})
    _event(handler, "[DONE]")


def send_anthropic_stream(
    handler: Any, model: str, text: str, stop: str | None, usage: dict[str, Any], pacing: Pacing
) -> None:
    """message_start (input and cache tokens), text deltas, message_delta (output tokens)."""
    message = {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**usage, "output_tokens": 1},
    }
    _start(handler)
    _event(handler, {"type": "message_start", "message": message}, "message_start")
    block = {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    }
    _event(handler, block, "content_block_start")
    for piece in pacing.pieces(text):
        delta = {"type": "content_block_delta", "index": 0,
                 "delta": {"type": "text_delta", "text": piece}}  # fmt: skip
        _event(handler, delta, "content_block_delta")
    _event(handler, {"type": "content_block_stop", "index": 0}, "content_block_stop")
    end = {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn" if stop is None else "stop_sequence",
                  "stop_sequence": stop},
        "usage": {"output_tokens": usage["output_tokens"]},
    }  # fmt: skip
    _event(handler, end, "message_delta")
    _event(handler, {"type": "message_stop"}, "message_stop")
