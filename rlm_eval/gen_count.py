"""The `count` suite (OOLONG-like): counting and aggregating labelled records spread over documents.

The corpus: agreement files (service agreements as blocks, prose and tables), invoice ledgers
(invoices likewise) and annual reports (both kinds, in prose), with filler prose between records.
Questions: counts, totals, maxima (the answer is the name, not the value), lookups and lists.
Amounts are distinct, so every maximum and threshold has exactly one answer.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable

from rlm_eval.prose import interleave, split_sizes
from rlm_eval.records import (
    MONTHS,
    REGIONS,
    STATUSES,
    TERMS,
    YEARS,
    Agreement,
    Invoice,
    agreement_block,
    agreement_table,
    distinct_amounts,
    invoice_block,
    invoice_table,
    vendors,
)
from rlm_eval.suite import Question, Suite

DOC_KINDS = ("agreements", "invoices", "report")


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


class _Records:
    """The ground truth of one corpus; the questions are computed from it."""

    def __init__(self, rng: random.Random, size: int) -> None:
        n_agr = _clamp(size // 1500, 6, 1200)
        n_inv = _clamp(size // 1000, 8, 1800)
        names = vendors(rng, _clamp((n_agr + n_inv) // 8, 4, 40))
        fees = distinct_amounts(rng, n_agr, 5_000, 250_000, 100)
        amounts = distinct_amounts(rng, n_inv, 200, 99_999, 1)
        agr_ids = rng.sample(range(1000, 10000), n_agr)
        inv_ids = rng.sample(range(10000, 100000), n_inv)
        self.agreements = [
            Agreement(
                f"SA-{agr_ids[k]}",
                rng.choice(names),
                rng.choice(REGIONS),
                fees[k],
                rng.choice(TERMS),
                rng.choice(YEARS),
            )
            for k in range(n_agr)
        ]
        self.invoices = [
            Invoice(
                f"INV-{inv_ids[k]}",
                rng.choice(names),
                amounts[k],
                rng.choice(STATUSES),
                rng.choice(MONTHS),
            )
            for k in range(n_inv)
        ]


def _documents(rng: random.Random, size: int, recs: _Records) -> dict[str, str]:
    n_docs = _clamp(size // 48_000, 3, 40)
    kinds = [DOC_KINDS[i % 3] for i in range(n_docs)]
    blocks: list[list[str]] = [[] for _ in range(n_docs)]
    agr_docs = [i for i, k in enumerate(kinds) if k != "invoices"]
    inv_docs = [i for i, k in enumerate(kinds) if k != "agreements"]
    for records, docs, block, table in (
        (recs.agreements, agr_docs, agreement_block, agreement_table),
        (recs.invoices, inv_docs, invoice_block, invoice_table),
    ):
        placed: dict[int, list] = defaultdict(list)
        for record in records:
            placed[rng.choice(docs)].append(record)
        for doc, rows in placed.items():
            prose = kinds[doc] == "report"
            k = 0
            while k < len(rows):
                if not prose and rng.random() < 0.25:
                    run = rows[k : k + rng.randint(2, 6)]
                    blocks[doc].append(table(run))
                    k += len(run)
                else:
                    blocks[doc].append(block(rng, rows[k], prose))
                    k += 1
    for doc_blocks in blocks:
        rng.shuffle(doc_blocks)
    sizes = split_sizes(size, n_docs, rng)
    counters: Counter[str] = Counter()
    files: dict[str, str] = {}
    for i, kind in enumerate(kinds):
        counters[kind] += 1
        name = {"agreements": "agreements", "invoices": "invoice_ledger", "report": "annual_report"}
        title = {
            "agreements": "SERVICE AGREEMENTS REGISTER",
            "invoices": "Invoice ledger",
            "report": "Annual report: operations and suppliers",
        }[kind]
        body = interleave(rng, blocks[i], sizes[i] - len(title) - 2)
        files[f"{name[kind]}_{counters[kind]:02d}.txt"] = f"{title}\n\n{body}"
    return files


Maker = Callable[[random.Random, _Records], tuple[str, object, str] | None]


def _count_year(rng: random.Random, r: _Records) -> tuple[str, object, str]:
    year = rng.choice(YEARS)
    n = sum(a.year == year for a in r.agreements)
    q = rng.choice(
        [
            f"How many service agreements renew in {year}?",
            f"Count the service agreements whose renewal year is {year}.",
        ]
    )
    return q, n, "number"


def _count_status(rng: random.Random, r: _Records) -> tuple[str, object, str]:
    status = rng.choice(STATUSES)
    n = sum(i.status == status for i in r.invoices)
    q = rng.choice(
        [f"How many invoices are {status}?", f"How many invoices have the status {status}?"]
    )
    return q, n, "number"


def _total_region(rng: random.Random, r: _Records) -> tuple[str, object, str]:
    region = rng.choice(REGIONS)
    total = sum(a.fee for a in r.agreements if a.region == region)
    q = rng.choice(
        [
            f"What is the total annual fee, in USD, of all service agreements in the {region} "
            "region?",
            f"Add up the annual fees of the {region} region's service agreements. What is the sum "
            "in USD?",
        ]
    )
    return q, total, "number"


def _total_vendor(rng: random.Random, r: _Records) -> tuple[str, object, str] | None:
    vendor = rng.choice(r.invoices).vendor
    total = sum(i.amount for i in r.invoices if i.vendor == vendor)
    q = rng.choice(
        [
            f"What is the total amount, in USD, of all invoices from {vendor}?",
            f"How much has {vendor} invoiced in total (USD)?",
        ]
    )
    return q, total, "number"


def _max_invoice(rng: random.Random, r: _Records) -> tuple[str, object, str]:
    status = rng.choice([None, *STATUSES])
    pool = [i for i in r.invoices if status is None or i.status == status]
    if not pool:
        return None
    best = max(pool, key=lambda i: i.amount)
    which = "invoice" if status is None else f"{status} invoice"
    q = rng.choice(
        [
            f"Which vendor issued the single largest {which}? Give the vendor's name.",
            f"Name the vendor with the highest-value {which}.",
        ]
    )
    return q, best.vendor, "exact"


def _max_region(rng: random.Random, r: _Records) -> tuple[str, object, str] | None:
    totals = Counter({region: 0 for region in REGIONS})
    for a in r.agreements:
        totals[a.region] += a.fee
    (first, top), (_, second) = totals.most_common(2)
    if top == second:
        return None
    q = rng.choice(
        [
            "Which region has the largest total annual fee across its service agreements?",
            "Across all service agreements, which region's annual fees add up to the most?",
        ]
    )
    return q, first, "exact"


def _lookup_fee(rng: random.Random, r: _Records) -> tuple[str, object, str]:
    a = rng.choice(r.agreements)
    q = rng.choice(
        [
            f"What is the annual fee of service agreement {a.id}, in USD?",
            f"How much is the annual fee (USD) under agreement {a.id}?",
        ]
    )
    return q, a.fee, "number"


def _lookup_vendor(rng: random.Random, r: _Records) -> tuple[str, object, str]:
    i = rng.choice(r.invoices)
    q = rng.choice(
        [f"Which vendor issued invoice {i.id}?", f"Who is the vendor on invoice {i.id}?"]
    )
    return q, i.vendor, "exact"


def _list_top(rng: random.Random, r: _Records) -> tuple[str, object, str]:
    fees = sorted((a.fee for a in r.agreements), reverse=True)
    k = min(len(fees) - 1, rng.randint(2, 5))
    threshold = (fees[k - 1] + fees[k]) // 2 // 100 * 100
    ids = sorted(a.id for a in r.agreements if a.fee > threshold)
    q = rng.choice(
        [
            f"List the IDs of all service agreements with an annual fee above USD {threshold:,}.",
            f"Which service agreements have an annual fee greater than ${threshold:,}? "
            "List their IDs.",
        ]
    )
    return q, ids, "set"


def _most_invoices(rng: random.Random, r: _Records) -> tuple[str, object, str] | None:
    counts = Counter(i.vendor for i in r.invoices).most_common(2)
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return None
    q = rng.choice(
        [
            "Which vendor has the most invoices?",
            "Which vendor appears on the largest number of invoices?",
        ]
    )
    return q, counts[0][0], "exact"


def _count_vendors(rng: random.Random, r: _Records) -> tuple[str, object, str]:
    status = rng.choice(STATUSES)
    n = len({i.vendor for i in r.invoices if i.status == status})
    q = f"How many different vendors have at least one {status} invoice?"
    return q, n, "number"


MAKERS: list[Maker] = [
    _count_year,
    _count_status,
    _total_region,
    _total_vendor,
    _max_invoice,
    _max_region,
    _lookup_fee,
    _lookup_vendor,
    _list_top,
    _most_invoices,
    _count_vendors,
]


def count(size: int, seed: int, questions: int) -> Suite:
    """Records spread across documents; questions cycle through the makers above."""
    rng = random.Random(f"count:{seed}:{size}")
    recs = _Records(rng, size)
    suite = Suite("count", size, seed)
    suite.files = _documents(rng, size, recs)
    seen: set[str] = set()
    attempts = 0
    while len(suite.questions) < questions and attempts < questions * 20:
        maker = MAKERS[attempts % len(MAKERS)]
        attempts += 1
        made = maker(rng, recs)
        if made is None or made[0] in seen:
            continue
        text, expected, grader = made
        seen.add(text)
        suite.questions.append(
            Question(f"count-{len(suite.questions) + 1:03d}", text, expected, grader)
        )
    return suite
