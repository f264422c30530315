"""Labelled business records for the `count` suite and the layouts they are written in.

Two record types: service agreements (id, vendor, region, annual fee, term, renewal year) and
invoices (id, vendor, amount, status, month). Each record is written in one of several layouts —
`Key: value` blocks with upper-, lower- or title-case labels, prose sentences, or rows of a
Markdown table — and amounts in several spellings (USD 48,200 / $48,200 / 48200 USD), so that a
reader must parse varied text, not one regular pattern.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

REGIONS = ["North", "South", "East", "West", "Central"]
STATUSES = ["paid", "overdue", "pending"]
MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]  # fmt: skip
TERMS = [12, 24, 36, 48, 60]
YEARS = [2026, 2027, 2028, 2029, 2030]
FIRST = [
    "Northwind",
    "Bluestone",
    "Harbor",
    "Kestrel",
    "Silverline",
    "Oakridge",
    "Redwood",
    "Brightwater",
    "Ironbridge",
    "Summit",
    "Clearview",
    "Pinecrest",
    "Granite",
    "Lakeside",
    "Highfield",
    "Westgate",
]
SECOND = [
    "Logistics", "Foods", "Systems", "Cleaning", "Security", "Printing", "Catering", "Software",
    "Freight", "Energy", "Supplies", "Consulting",
]  # fmt: skip


@dataclass(frozen=True)
class Agreement:
    id: str
    vendor: str
    region: str
    fee: int
    term: int
    year: int


@dataclass(frozen=True)
class Invoice:
    id: str
    vendor: str
    amount: int
    status: str
    month: str


def vendors(rng: random.Random, n: int) -> list[str]:
    return rng.sample([f"{a} {b}" for a in FIRST for b in SECOND], n)


def distinct_amounts(rng: random.Random, n: int, low: int, high: int, step: int) -> list[int]:
    """`n` distinct multiples of `step` in [low, high], so maxima and thresholds are unique."""
    return [v * step for v in rng.sample(range(low // step, high // step + 1), n)]


def money(rng: random.Random, value: int) -> str:
    return rng.choice([f"USD {value:,}", f"${value:,}", f"{value} USD"])


def _label(rng_case: str, text: str) -> str:
    return {"upper": text.upper(), "lower": text.lower(), "title": text}[rng_case]


def _record(
    rng: random.Random,
    prose: bool,
    title: str,
    ident: str,
    fields: Callable[[], list[tuple[str, str]]],
    sentences: Callable[[], list[str]],
) -> str:
    """A record as a `Key: value` block under `title ident` (labels in one random case), or (always
    when `prose`) one of its prose `sentences`. Values are made only for the layout chosen: a
    money spelling draws from `rng`."""
    if not prose and rng.random() < 0.5:
        case = rng.choice(["upper", "lower", "title"])
        lines = [f"{_label(case, key)}: {value}" for key, value in fields()]
        return "\n".join([f"{_label(case, title)} {ident}", *lines])
    return rng.choice(sentences())


def agreement_block(rng: random.Random, a: Agreement, prose: bool = False) -> str:
    """One agreement as a `Key: value` block or (always when `prose`) a prose sentence."""

    def fields() -> list[tuple[str, str]]:
        return [
            ("Vendor", a.vendor),
            ("Region", a.region),
            ("Annual fee", money(rng, a.fee)),
            ("Term", f"{a.term} months"),
            ("Renewal year", str(a.year)),
        ]

    def sentences() -> list[str]:
        fee = money(rng, a.fee)
        return [
            f"Service agreement {a.id} was signed with {a.vendor} for the {a.region} region; "
            f"it carries an annual fee of {fee} over {a.term} months and renews in {a.year}.",
            f"Under service agreement {a.id}, {a.vendor} serves the {a.region} region for "
            f"{a.term} months at an annual fee of {fee}; the renewal year is {a.year}.",
        ]

    return _record(rng, prose, "Service agreement", a.id, fields, sentences)


def invoice_block(rng: random.Random, i: Invoice, prose: bool = False) -> str:
    """One invoice as a `Key: value` block or (always when `prose`) a prose sentence."""

    def fields() -> list[tuple[str, str]]:
        return [
            ("Vendor", i.vendor),
            ("Amount", money(rng, i.amount)),
            ("Status", i.status),
            ("Month", f"{i.month} 2025"),
        ]

    def sentences() -> list[str]:
        amount = money(rng, i.amount)
        return [
            f"Invoice {i.id} from {i.vendor} for {amount} was issued in {i.month} 2025 "
            f"and is {i.status}.",
            f"{i.vendor} billed {amount} on invoice {i.id} ({i.month} 2025); status: {i.status}.",
        ]

    return _record(rng, prose, "Invoice", i.id, fields, sentences)


def agreement_table(rows: list[Agreement]) -> str:
    head = [
        "| Agreement | Vendor | Region | Annual fee (USD) | Term (months) | Renewal year |",
        "|---|---|---|---|---|---|",
    ]
    body = [f"| {a.id} | {a.vendor} | {a.region} | {a.fee:,} | {a.term} | {a.year} |" for a in rows]
    return "\n".join(head + body)


def invoice_table(rows: list[Invoice]) -> str:
    head = ["| Invoice | Vendor | Amount (USD) | Status | Month |", "|---|---|---|---|---|"]
    body = [f"| {i.id} | {i.vendor} | {i.amount:,} | {i.status} | {i.month} 2025 |" for i in rows]
    return "\n".join(head + body)
