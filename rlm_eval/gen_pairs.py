"""The `pairs` suite (OOLONG-Pairs-like): list every pair of records that meet a condition.

Participants (id, city, joining year, team, plan) are written as `Key: value` blocks, prose or
table rows. A question asks for the pairs that share two attributes, optionally among one plan's
participants; the answer is graded by `set` with each pair an unordered item.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from rlm_eval.prose import interleave, split_sizes, words
from rlm_eval.suite import Question, Suite

CITIES = words(
    "Lisbon Porto Madrid Seville Lyon Nantes Turin Verona Ghent Utrecht Aarhus Bergen Tampere "
    "Gdansk Brno Graz Basel Bristol Leeds Cork Galway Malmo Riga Tartu Split Kotor Plovdiv Cluj "
    "Debrecen Kosice Ljubljana Trieste Bilbao Valencia Marseille Bordeaux Hamburg Leipzig Dresden "
    "Innsbruck"
)
TEAMS = words(
    "Falcons Otters Herons Badgers Lynxes Ravens Wolves Foxes Bison Cranes Hawks Owls Seals Stags "
    "Vipers Eagles Pumas Moose Geckos Ibises Martens Puffins Walruses Ospreys Kestrels Swifts "
    "Terns Cobras Hares Robins"
)
YEARS = list(range(1995, 2025))
MAX_PAIRS = 30
PLANS = ["basic", "standard", "premium", "enterprise"]
SHARED = {
    ("city", "year"): "live in the same city and joined in the same year",
    ("team", "year"): "play for the same team and joined in the same year",
    ("city", "team"): "live in the same city and play for the same team",
}


@dataclass(frozen=True)
class Participant:
    id: str
    city: str
    year: int
    team: str
    plan: str


def _participants(rng: random.Random, n: int) -> list[Participant]:
    ids = rng.sample(range(1000, 10000), n)
    people: list[Participant] = []
    for k in range(n):
        attrs = {
            "city": rng.choice(CITIES),
            "year": rng.choice(YEARS),
            "team": rng.choice(TEAMS),
            "plan": rng.choice(PLANS),
        }
        if people and rng.random() < 0.4:  # share two attributes with someone: planted pairs
            other = rng.choice(people)
            for name in rng.choice(list(SHARED)):
                attrs[name] = getattr(other, name)
            if rng.random() < 0.5:
                attrs["plan"] = other.plan
        people.append(Participant(f"P-{ids[k]}", **attrs))
    return people


def _block(rng: random.Random, p: Participant) -> str:
    layout = rng.random()
    if layout < 0.45:
        case = rng.choice([str.upper, str.lower, str.title])
        return "\n".join(
            [
                f"{case('Participant')} {p.id}",
                f"{case('City')}: {p.city}",
                f"{case('Joined')}: {p.year}",
                f"{case('Team')}: {p.team}",
                f"{case('Plan')}: {p.plan}",
            ]
        )
    return rng.choice(
        [
            f"Participant {p.id} lives in {p.city}, joined in {p.year} and plays for the "
            f"{p.team} on the {p.plan} plan.",
            f"{p.id} ({p.plan} plan) joined the {p.team} in {p.year}; home city: {p.city}.",
        ]
    )


def _table(rows: list[Participant]) -> str:
    head = ["| Participant | City | Joined | Team | Plan |", "|---|---|---|---|---|"]
    return "\n".join(
        head + [f"| {p.id} | {p.city} | {p.year} | {p.team} | {p.plan} |" for p in rows]
    )


def _pairs_of(people: list[Participant], shared: tuple[str, str], plan: str | None) -> list:
    pool = [p for p in people if plan is None or p.plan == plan]
    found = [
        sorted([a.id, b.id])
        for a, b in itertools.combinations(pool, 2)
        if all(getattr(a, attr) == getattr(b, attr) for attr in shared)
    ]
    return sorted(found)


def pairs(size: int, seed: int, questions: int) -> Suite:
    """Participants spread over registry documents; each question lists 1 to MAX_PAIRS pairs."""
    rng = random.Random(f"pairs:{seed}:{size}")
    people = _participants(rng, max(24, min(100, size // 500)))
    blocks: list[str] = []
    k = 0
    while k < len(people):
        if rng.random() < 0.2:
            run = people[k : k + rng.randint(2, 5)]
            blocks.append(_table(run))
            k += len(run)
        else:
            blocks.append(_block(rng, people[k]))
            k += 1
    n_docs = max(1, min(12, size // 200_000))
    sizes = split_sizes(size, n_docs, rng)
    per_doc = [
        blocks[i * len(blocks) // n_docs : (i + 1) * len(blocks) // n_docs] for i in range(n_docs)
    ]
    suite = Suite("pairs", size, seed)
    suite.files = {
        f"registry_{i + 1:02d}.txt": interleave(rng, per_doc[i], sizes[i]) for i in range(n_docs)
    }
    combos = [(shared, plan) for shared in SHARED for plan in [None, *PLANS]]
    rng.shuffle(combos)
    for shared, plan in combos:
        if len(suite.questions) >= questions:
            break
        expected = _pairs_of(people, shared, plan)
        if not 1 <= len(expected) <= MAX_PAIRS:
            continue
        among = "participants" if plan is None else f"participants on the {plan} plan"
        text = (
            f"List every pair of {among} who {SHARED[shared]}. "
            "Give each pair as (ID, ID), one pair per line."
        )
        suite.questions.append(
            Question(f"pairs-{len(suite.questions) + 1:03d}", text, expected, "set")
        )
    return suite
