"""Prompt-cache accounting of the stand-in, modelled on both APIs' published rules.

OpenAI caches by itself: a prompt whose first 1,024+ tokens repeat an earlier prompt's reads them
from the cache, in steps of 128 tokens, reported as `usage.prompt_tokens_details.cached_tokens`.
Anthropic caches only up to blocks marked `cache_control` (at most 4 per request): the longest
earlier-written prefix that ends at a block boundary up to the last mark (looking back 20 blocks)
is read (`cache_read_input_tokens`), the rest of the prefix up to the last mark is written
(`cache_creation_input_tokens`), and `input_tokens` counts only what follows the last mark.
Prefixes under `min_tokens` are never cached. Tokens are counted as `len(text) // 4`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

OPENAI_MIN_TOKENS = 1024
OPENAI_STEP = 128
ANTHROPIC_MIN_TOKENS = 1024
ANTHROPIC_MAX_BREAKPOINTS = 4
ANTHROPIC_LOOKBACK = 20


@dataclass(frozen=True)
class CacheUsage:
    """How many of a request's prompt tokens were read from and written to the cache."""

    read: int = 0
    written: int = 0


class TooManyBreakpoints(ValueError):
    """More cache_control blocks than the API allows (it answers 400)."""


def tokens(text: str) -> int:
    return len(text) // 4


class PromptCache:
    """Per model: prompts seen (OpenAI) and prefixes written (Anthropic). Thread-safe."""

    def __init__(self, min_tokens: int | None = None) -> None:
        self.min_tokens = min_tokens  # None: each API's own minimum
        self._lock = threading.Lock()
        self._openai: dict[str, list[str]] = {}
        self._anthropic: dict[str, set[str]] = {}

    def openai(self, model: str, prompt: str) -> CacheUsage:
        """`prompt`: the request's messages flattened in order."""
        least = OPENAI_MIN_TOKENS if self.min_tokens is None else self.min_tokens
        with self._lock:
            seen = self._openai.setdefault(model, [])
            common = max((_common_prefix(prompt, old) for old in seen), default=0)
            seen.append(prompt)
        shared = tokens(prompt[:common])
        if shared < least:
            return CacheUsage()
        return CacheUsage(read=shared - (shared - least) % OPENAI_STEP)

    def anthropic(self, model: str, blocks: list[tuple[str, bool]]) -> CacheUsage:
        """`blocks`: (text, marked with cache_control) for system, then message blocks."""
        marks = [i for i, (_, marked) in enumerate(blocks) if marked]
        if not marks:
            return CacheUsage()
        least = ANTHROPIC_MIN_TOKENS if self.min_tokens is None else self.min_tokens
        prefixes, text = [], ""
        for block_text, _ in blocks:
            text += block_text
            prefixes.append(text)
        last = marks[-1]
        with self._lock:
            written = self._anthropic.setdefault(model, set())
            read = 0
            for mark in marks:  # each mark looks back up to 20 blocks for a cached prefix
                for i in range(mark, max(-1, mark - ANTHROPIC_LOOKBACK), -1):
                    if prefixes[i] in written:
                        read = max(read, tokens(prefixes[i]))
                        break
            whole = tokens(prefixes[last])
            write = 0
            if whole >= least and prefixes[last] not in written:
                write = whole - read
            for mark in marks:
                if tokens(prefixes[mark]) >= least:
                    written.add(prefixes[mark])
        return CacheUsage(read=read, written=write)


def check_breakpoints(body: dict[str, Any]) -> None:
    """Raise TooManyBreakpoints as the API does (before anything else is looked at)."""
    found = sum(marked for _, marked in anthropic_blocks(body))
    if found > ANTHROPIC_MAX_BREAKPOINTS:
        raise TooManyBreakpoints(
            f"A maximum of {ANTHROPIC_MAX_BREAKPOINTS} blocks with cache_control may be "
            f"provided. Found {found}."
        )


def anthropic_blocks(body: dict[str, Any]) -> list[tuple[str, bool]]:
    """A Messages request's cacheable blocks, in order: (text, has cache_control)."""
    blocks: list[tuple[str, bool]] = []
    system = body.get("system")
    for part in _parts(system):
        blocks.append(part)
    for message in body.get("messages") or []:
        blocks.extend(_parts(message.get("content")))
    return blocks


def _parts(content: Any) -> list[tuple[str, bool]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [(content, False)]
    return [
        (str(part.get("text", "")), "cache_control" in part)
        for part in content
        if isinstance(part, dict)
    ]


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    lo, hi = 0, n  # binary search on the longest common prefix: prompts are long
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo
