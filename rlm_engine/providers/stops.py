"""Stop sequences applied on our side too: some servers ignore them, some models refuse them."""

from __future__ import annotations


def cut_at_stop(text: str, stop: list[str] | None) -> str:
    """`text` up to the earliest stop string, as if the server had stopped there."""
    ends = [i for s in stop or [] if s and (i := text.find(s)) >= 0]
    return text[: min(ends)] if ends else text
