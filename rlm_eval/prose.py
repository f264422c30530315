"""Filler prose for generated corpora, deterministic by the caller's `random.Random`.

The vocabulary holds no digits and none of the words the generated questions ask about (codes,
agreements, invoices, participants, references), so filler can never change an expected answer.
"""

from __future__ import annotations

import random

SUBJECTS = [
    "The committee",
    "A visiting engineer",
    "The harbour office",
    "Our supplier",
    "The board",
    "The night shift",
    "A new trainee",
    "The planning group",
    "The auditor",
    "The warehouse team",
]
VERBS = [
    "reviewed",
    "postponed",
    "approved",
    "questioned",
    "summarised",
    "archived",
    "revised",
    "discussed",
    "circulated",
    "set aside",
]
OBJECTS = [
    "the quarterly budget",
    "the safety report",
    "a shipping schedule",
    "the old floor plan",
    "the canteen menu",
    "a draft of the handbook",
    "the parking rules",
    "the training calendar",
    "a list of open questions",
    "the minutes of the last meeting",
]
TAILS = [
    "after a long meeting.",
    "without comment.",
    "for the third time.",
    "before lunch.",
    "with some reluctance.",
    "at the request of the chair.",
    "while the weather turned.",
    "and moved on.",
]


def sentence(rng: random.Random) -> str:
    """One sentence of plausible, repetitive business prose."""
    return " ".join(
        (rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS), rng.choice(TAILS))
    )


def filler(rng: random.Random, chars: int) -> str:
    """About `chars` characters of prose (never more), in paragraphs, ending at a full stop."""
    if chars <= 0:
        return ""
    parts: list[str] = []
    length = 0
    while True:
        piece = sentence(rng)
        sep = "\n\n" if parts and rng.random() < 0.12 else (" " if parts else "")
        if length + len(sep) + len(piece) > chars:
            break
        parts.append(sep + piece)
        length += len(sep) + len(piece)
    return "".join(parts)


def interleave(rng: random.Random, blocks: list[str], target_chars: int) -> str:
    """`blocks` in order with filler prose between them, about `target_chars` in all.

    The filler is cut into len(blocks) + 1 gaps of random share, so blocks land anywhere.
    """
    spare = max(0, target_chars - sum(len(b) + 4 for b in blocks))
    weights = [rng.random() + 0.05 for _ in range(len(blocks) + 1)]
    total = sum(weights)
    gaps: list[str] = []
    used = 0
    cumulative = 0.0
    for w in weights:  # aim at the running total, so short gaps do not add up to a short corpus
        cumulative += w
        gaps.append(filler(rng, int(spare * cumulative / total) - used))
        used += len(gaps[-1])
    out: list[str] = []
    for gap, block in zip(gaps, [*blocks, ""], strict=True):
        if gap:
            out.append(gap)
        if block:
            out.append(block)
    return "\n\n".join(out) + "\n"


def split_sizes(total: int, parts: int, rng: random.Random) -> list[int]:
    """`total` cut into `parts` sizes that differ by up to a factor of about two."""
    weights = [1 + rng.random() for _ in range(parts)]
    scale = total / sum(weights)
    sizes = [int(w * scale) for w in weights]
    sizes[-1] += total - sum(sizes)
    return sizes


def words(text: str) -> list[str]:
    """A word list written as one string (long lists read better that way)."""
    return text.split()
