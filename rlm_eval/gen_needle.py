"""Needle suites (S-NIAH-like): facts hidden in filler prose, the others acting as distractors.

- `needle`: one access code per team; each question asks for one team's code (`contains`).
- `multi-needle`: each project's passphrase is written in three parts in three far-apart places;
  each question asks for all three parts (`set`).
"""

from __future__ import annotations

import random

from rlm_eval.prose import interleave, split_sizes
from rlm_eval.suite import Question, Suite

COLORS = [
    "amber", "cobalt", "crimson", "olive", "ivory", "scarlet", "teal", "violet", "silver",
    "copper", "indigo", "saffron", "jade", "russet", "slate",
]  # fmt: skip
ANIMALS = [
    "otter", "falcon", "badger", "heron", "lynx", "marten", "osprey", "walrus", "gecko",
    "bison", "crane", "ferret", "ibex", "puffin", "raven",
]  # fmt: skip
WORDS = [
    "maple", "quartz", "harbor", "lantern", "meadow", "cinder", "orchid", "pebble", "summit",
    "willow", "ember", "glacier", "thistle", "beacon", "saddle", "marble",
]  # fmt: skip
PROJECTS = [
    "Aurora", "Basalt", "Cassini", "Dynamo", "Equinox", "Fjord", "Granite", "Helios", "Juniper",
    "Kestrel", "Lumen", "Monsoon", "Nimbus", "Obsidian", "Polaris", "Quasar", "Sequoia", "Tundra",
    "Umbra", "Vortex", "Zephyr", "Cobalt", "Meridian", "Solstice", "Tempest",
]  # fmt: skip
ORDINALS = ["first", "second", "third"]

NEEDLE_TEMPLATES = [
    "Note for the {team} team: your access code is {code}.",
    "Reminder: the {team} team's access code is {code}.",
    "The access code issued to the {team} team is {code}.",
]
NEEDLE_QUESTIONS = [
    "What is the access code of the {team} team?",
    "Which access code was issued to the {team} team?",
    "Find the {team} team's access code.",
]
PART_TEMPLATES = [
    "The {ordinal} part of the {project} passphrase is {token}.",
    "Passphrase {project}, {ordinal} part: {token}.",
]


def _codes(rng: random.Random, n: int, digits: int) -> list[str]:
    """`n` distinct codes such as maple-417."""
    low, high = 10 ** (digits - 1), 10**digits - 1
    seen: set[str] = set()
    while len(seen) < n:
        seen.add(f"{rng.choice(WORDS)}-{rng.randint(low, high)}")
    return rng.sample(sorted(seen), n)


def _documents(rng: random.Random, size: int, blocks: list[str], prefix: str) -> dict[str, str]:
    """Blocks spread over a few documents of filler (one per ~256k characters, at most 16)."""
    n_docs = max(1, min(16, size // 256_000))
    sizes = split_sizes(size, n_docs, rng)
    per_doc: list[list[str]] = [[] for _ in range(n_docs)]
    for index, block in enumerate(blocks):
        per_doc[index * n_docs // max(1, len(blocks))].append(block)
    return {
        f"{prefix}_{i + 1:02d}.txt": interleave(rng, per_doc[i], sizes[i]) for i in range(n_docs)
    }


def needle(size: int, seed: int, questions: int) -> Suite:
    """One needle per question; the other questions' needles are distractors."""
    rng = random.Random(f"needle:{seed}:{size}")
    teams = rng.sample([f"{c} {a}" for c in COLORS for a in ANIMALS], questions)
    codes = _codes(rng, questions, 3)
    needles = [
        rng.choice(NEEDLE_TEMPLATES).format(team=t, code=c)
        for t, c in zip(teams, codes, strict=True)
    ]
    order = list(range(questions))
    rng.shuffle(order)
    suite = Suite("needle", size, seed)
    suite.files = _documents(rng, size, [needles[i] for i in order], "notes")
    suite.questions = [
        Question(f"needle-{i + 1:03d}", rng.choice(NEEDLE_QUESTIONS).format(team=t), c, "contains")
        for i, (t, c) in enumerate(zip(teams, codes, strict=True))
    ]
    return suite


def multi_needle(size: int, seed: int, questions: int) -> Suite:
    """Three parts per passphrase, placed apart; a question asks for all three of one project."""
    rng = random.Random(f"multi-needle:{seed}:{size}")
    names = [f"{p}-{n}" if n else p for n in range(0, 9) for p in PROJECTS]
    projects = rng.sample(names[: max(questions, len(PROJECTS))], questions)
    tokens = _codes(rng, 3 * questions, 4)
    parts = [
        rng.choice(PART_TEMPLATES).format(project=p, ordinal=ORDINALS[k], token=tokens[3 * i + k])
        for i, p in enumerate(projects)
        for k in range(3)
    ]
    # Part k of every project goes into the k-th third of the corpus, so the parts lie far apart.
    blocks: list[str] = []
    for k in range(3):
        third = [parts[3 * i + k] for i in range(questions)]
        rng.shuffle(third)
        blocks += third
    suite = Suite("multi-needle", size, seed)
    suite.files = _documents(rng, size, blocks, "memos")
    suite.questions = [
        Question(
            f"multi-needle-{i + 1:03d}",
            f"The {p} passphrase is written in three parts in different places. "
            "List all three parts.",
            tokens[3 * i : 3 * i + 3],
            "set",
        )
        for i, p in enumerate(projects)
    ]
    return suite
