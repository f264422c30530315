"""Plausible prose for tests and benchmarks: lines of invented words from a large vocabulary, so
that four words in a row are rare, as in real documents (a source match then means something)."""

from __future__ import annotations

import random

SYLLABLES = tuple(
    ["ka", "lo", "mi", "ra", "su", "te", "vo", "ne", "pi", "da", "go", "hu", "be", "fa", "zi"]
)


def vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    """`size` invented words of two to four syllables."""
    return ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(size)]


def lines(rng: random.Random, words: list[str], n_chars: int) -> str:
    """Sentences of 8 to 14 of `words`, one a line, until there are at least `n_chars`."""
    out, size = [], 0
    while size < n_chars:
        line = " ".join(rng.choice(words) for _ in range(rng.randint(8, 14))).capitalize() + ".\n"
        out.append(line)
        size += len(line)
    return "".join(out)


def prose(n_chars: int, seed: int) -> str:
    """At least `n_chars` of prose, the same for the same seed."""
    rng = random.Random(seed)
    return lines(rng, vocabulary(rng), n_chars)
