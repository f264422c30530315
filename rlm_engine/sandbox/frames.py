"""Frames from the worker are untrusted input.

Model code runs inside the worker's process, so it can reach the channel's socket (any code in a
process can find its file descriptors: `/proc/self/fd`, `gc.get_objects()`) and write frames of its
own: not JSON, nested 200,000 levels deep, `Infinity` as a count, a length header of 4 GB. The
host's reader parses each frame here, bounded in size and depth, with every field it uses
type-checked; a bad frame is a `FrameError`, and the host restarts the worker (the stream can no
longer be trusted to be in step) and tells the model, and the run goes on.
"""

from __future__ import annotations

import json
import math
from typing import Any

from rlm_engine.text import valid_tree

MAX_FRAME_BYTES = 64 * 1024 * 1024
"""A frame above this is refused before it is read (the worker keeps its own frames well below:
outputs and answers are capped, calls too large are refused in the REPL)."""
MAX_DEPTH = 4  # message -> args -> a list of prompts -> a prompt: deeper is never legitimate
MAX_COUNT = 2**53  # counts (output_chars, ids, pids) beyond this are not counts

_TEXT = ("output", "error", "final", "method", "op")  # str or None wherever they appear
_INTS = ("output_chars", "id", "pid", "uid")  # non-negative ints wherever they appear


class FrameError(Exception):
    """The worker sent something that is not a message of the protocol."""


def parse_frame(body: bytes) -> dict[str, Any]:
    """One frame's body as a message with valid text (lone surrogates -> U+FFFD), or FrameError."""
    try:
        msg = json.loads(body, parse_constant=_no_constant)
    except RecursionError:
        raise FrameError("a message nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise FrameError(f"not a JSON message ({str(exc)[:120]})") from None
    if not isinstance(msg, dict):
        raise FrameError(f"a message must be an object, not {type(msg).__name__}")
    _check_depth(msg, 0)
    for key in _TEXT:
        if key in msg and msg[key] is not None and not isinstance(msg[key], str):
            raise FrameError(f"{key!r} must be text, not {type(msg[key]).__name__}")
    for key in _INTS:
        if key in msg and not _count(msg[key]):
            raise FrameError(
                f"{key!r} must be a whole number from 0 to 2**53, not {msg[key]!r:.40}"
            )
    if not isinstance(msg.get("op"), str):
        raise FrameError("a message needs an 'op'")
    if msg["op"] == "call":
        _check_call(msg)
    return valid_tree(msg)


def _check_call(msg: dict[str, Any]) -> None:
    if not _count(msg.get("id")):
        raise FrameError("a call needs a numeric 'id'")
    if msg.get("exec") is not None and not _count(msg.get("exec")):
        raise FrameError("a call's 'exec' must be a block id or null")
    if not isinstance(msg.get("method"), str) or not isinstance(msg.get("args"), list):
        raise FrameError("a call needs a 'method' and a list of 'args'")


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT


def _check_depth(value: object, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise FrameError(f"a message nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, dict):
        for item in value.values():
            _check_depth(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict | list):
                _check_depth(item, depth + 1)
    elif isinstance(value, float) and not math.isfinite(value):
        raise FrameError("a number that is not finite")


def _no_constant(name: str) -> float:
    raise FrameError(f"{name} is not a number the protocol uses")
