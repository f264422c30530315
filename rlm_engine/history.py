"""Keeping the root model's conversation within its window.

The contract sends the root model the whole conversation, and allows shortening old turns only
past a configured size. Past that size the oldest REPL results are replaced, one by one, by a
line saying what was there: the variables those outputs came from are still in the REPL, so the
model can print again what it needs. The system prompt, the question (first user message) and the
newest exchange are never touched, and the model's own replies (its code) stay as written.
"""

from __future__ import annotations

from rlm_engine.providers import Message

_PROTECTED = 2
"""The system prompt and the first user message (question and context metadata)."""

_MARK = "[REPL output elided"
ELIDED = (
    _MARK + " to keep this conversation under {limit:,} characters: it was {chars:,} "
    "characters. Its variables are still in the REPL: print what you need again.]"
)


def total_chars(messages: list[Message]) -> int:
    return sum(len(message["content"]) for message in messages)


def fit(messages: list[Message], limit: int | None) -> int:
    """Elide the oldest REPL results, in place, until `messages` fit within `limit` characters
    (or nothing more may be elided). Returns how many messages were elided by this call."""
    if limit is None:
        return 0
    elided = 0
    total = total_chars(messages)
    last_user = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=0)
    for index in range(_PROTECTED, last_user):
        if total <= limit:
            break
        message = messages[index]
        if message["role"] != "user" or message["content"].startswith(_MARK):
            continue
        stub = ELIDED.format(limit=limit, chars=len(message["content"]))
        if len(stub) >= len(message["content"]):
            continue
        total -= len(message["content"]) - len(stub)
        messages[index] = {"role": "user", "content": stub}
        elided += 1
    return elided
