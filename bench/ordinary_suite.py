"""A generated suite of ordinary document questions: lookups, counts, totals, maxima, lists.

The corpus is a folder's worth of documents, as a new user would upload it: service agreements
and invoices in three layouts each (a form with labelled fields, prose, a pipe table; headings in
capitals or not), memos, and one long report that fills the corpus to the size asked for. The
records are spread through the list of documents; the report and memos mention agreements and
invoices in passing (distractors without the fields). Questions come in varied wordings; each has
a grader that accepts the usual ways of writing the answer (1,098,000 / 1098000 / USD 1.098m is
not accepted: the digits must be there).

Nothing here is our test data: the tests use their own small corpora.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

PROVIDERS = [
    "Juniper Energy", "Northwind Logistics", "Bluefin Analytics", "Cedar & Vale Cleaning",
    "Orion Facilities", "Kestrel Security", "Marlow Catering", "Tidewater IT Services",
    "Halcyon Print", "Granite Waste Management", "Summit Elevators", "Pinecrest Landscaping",
    "Lumen Lighting", "Arbor Pest Control", "Redwood Telecom", "Silverline Couriers",
]  # fmt: skip
VENDORS = [
    "Acme Supplies", "Brightwater Paper", "Copperfield Tools", "Delta Office Furniture",
    "Evergreen Coffee", "Foxglove Stationery", "Gull Point Hardware", "Hollis Uniforms",
]  # fmt: skip
MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]  # fmt: skip
KINDS = ("lookup", "count", "total", "max", "list")


@dataclass
class Question:
    kind: str
    text: str
    expected: str  # what a person would accept, for the record
    numbers: list[float] = field(default_factory=list)  # grading: one of these must appear
    names: list[str] = field(default_factory=list)  # grading: all of these must appear
    not_names: list[str] = field(default_factory=list)  # grading: none of these may appear

    def grade(self, answer: str) -> bool:
        return grade(self, answer)


def _date_text(year: int, month: int, day: int, style: int) -> str:
    name = MONTHS[month - 1]
    return [f"{day} {name} {year}", f"{year}-{month:02d}-{day:02d}", f"{name} {day}, {year}"][style]


def _money(amount: int, style: int) -> str:
    return [f"USD {amount:,}", f"${amount:,}.00", f"{amount:,} USD"][style]


def agreement(rng: random.Random, provider: str, number: int) -> tuple[str, dict]:
    year = rng.choice([2026, 2027, 2027, 2028])
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    value = rng.randrange(40_000, 900_000, 500)
    client = rng.choice(["Harbour City Council", "the Municipality of Eastport", "Vale County"])
    style = rng.randrange(3)
    renew = _date_text(year, month, day, rng.randrange(3))
    money = _money(value, rng.randrange(3))
    if style == 0:
        text = (
            f'SERVICE AGREEMENT No. SA-{number}\n\nBetween {provider} (the "Provider") and '
            f'{client} (the "Client").\n\nEffective date: {_date_text(year - 3, month, day, 0)}\n'
            f"Renewal date: {renew}\nAnnual contract value: {money}\nNotice period: "
            f"{rng.choice([30, 60, 90])} days\n\n1. SCOPE. The Provider shall deliver the "
            "services described in Schedule A.\n2. TERM. This AGREEMENT renews automatically on "
            "the renewal date unless either party gives notice.\n"
        )
    elif style == 1:
        text = (
            f"Service agreement {number}\n\nThis agreement is made between {client} and "
            f"{provider}, who will provide the services set out below. The agreement will renew "
            f"on {renew}. The yearly value of the services is {money}, invoiced quarterly. "
            "Either party may end the agreement with written notice.\n"
        )
    else:
        text = (
            f"Agreement reference: SA-{number}\n| field | value |\n|---|---|\n| Provider | "
            f"{provider} |\n| Client | {client} |\n| Renews on | {renew} |\n| Value per year | "
            f"{money} |\n| Status | active |\n"
        )
    return text, {"provider": provider, "year": year, "month": month, "day": day, "value": value}


def invoice(rng: random.Random, vendor: str, number: int) -> tuple[str, dict]:
    amount = rng.randrange(800, 30_000, 10)
    date = _date_text(2025, rng.randint(1, 12), rng.randint(1, 28), rng.randrange(3))
    lines = rng.randint(1, 3)
    style = rng.randrange(3)
    total = _money(amount, rng.randrange(3))
    if style == 0:
        text = (
            f"INVOICE INV-{number}\nFrom: {vendor}\nDate: {date}\nItems: {lines}\n"
            f"Total due: {total}\nPayment within 30 days.\n"
        )
    elif style == 1:
        text = (
            f"Invoice no. INV-{number}, issued by {vendor} on {date}, covers {lines} line "
            f"item(s). The amount payable is {total}. Please quote the invoice number.\n"
        )
    else:
        text = (
            f"{vendor.upper()}\nInvoice: INV-{number}\nIssued: {date}\n| item | amount |\n"
            f"| supplies | see total |\n| TOTAL | {total} |\n"
        )
    return text, {"vendor": vendor, "number": f"INV-{number}", "amount": amount}


FILLER = [
    "The board reviewed the quarterly budget and asked for a revised forecast.",
    "Staff turnover fell in the second half of the year, mainly in the depots.",
    "Several agreements were discussed at the spring meeting; none was changed.",
    "The finance team reminded managers that invoices must be approved within ten days.",
    "A new safety briefing was introduced for visitors to the warehouse.",
    "Energy use per square metre dropped after the lighting was replaced.",
    "The audit found the filing of supplier documents mostly in order.",
    "Customer complaints about late deliveries were halved compared with last year.",
    "Training hours rose, with most courses taken online.",
    "The committee postponed the decision on the new office lease.",
]


def prose(rng: random.Random, size: int, title: str) -> str:
    parts, length, section = [f"{title}\n\n"], len(title) + 2, 1
    while length < size:
        if rng.random() < 0.05:
            piece = f"\n\nSection {section}. {rng.choice(['Operations', 'Finance', 'People'])}\n\n"
            section += 1
        else:
            piece = rng.choice(FILLER) + " "
        parts.append(piece)
        length += len(piece)
    return "".join(parts)[:size]


def build(size: int, seed: int) -> tuple[list[str], list[Question]]:
    """Documents of about `size` characters in all, and 10 questions (2 of each kind)."""
    rng = random.Random(seed * 7_919 + size)
    n_agr = max(4, min(16, size // 1_500))
    n_inv = max(4, min(24, size // 2_000))
    providers = rng.sample(PROVIDERS, n_agr)
    records: list[tuple[str, str, dict]] = []
    for i, provider in enumerate(providers):
        records.append(("agreement", *agreement(rng, provider, 2000 + rng.randrange(8000) + i)))
    numbers = rng.sample(range(10_000, 99_999), n_inv)
    for number in numbers:
        records.append(("invoice", *invoice(rng, rng.choice(VENDORS[:5]), number)))
    rng.shuffle(records)
    used = sum(len(text) for _, text, _ in records)
    left = max(0, size - used)
    memos = [prose(rng, min(2_500, left // 8 + 200), f"Memo {i + 1}") for i in range(3)]
    report = prose(rng, max(500, left - sum(len(m) for m in memos)), "ANNUAL OPERATIONS REPORT")
    docs = [text for _, text, _ in records]
    for filler in [*memos, report]:
        docs.insert(rng.randrange(len(docs) + 1), filler)
    agreements = [data for kind, _, data in records if kind == "agreement"]
    invoices = [data for kind, _, data in records if kind == "invoice"]
    return docs, questions(rng, agreements, invoices)


def questions(rng: random.Random, agreements: list[dict], invoices: list[dict]) -> list[Question]:
    out: list[Question] = []
    a = rng.choice(agreements)
    when = rng.choice(["On what date does the agreement with {p} renew?",
                       "When is the {p} contract up for renewal?"])  # fmt: skip
    day = f"{a['day']} {MONTHS[a['month'] - 1]} {a['year']}"
    out.append(Question("lookup", when.format(p=a["provider"]), day, names=[str(a["year"])]))
    out[-1].numbers = [float(a["day"])]
    out[-1].not_names = [f"month:{a['month']}"]  # graded specially below
    inv = rng.choice(invoices)
    out.append(Question("lookup", f"What is the total of invoice {inv['number']}?",
                        str(inv["amount"]), numbers=[inv["amount"]]))  # fmt: skip
    year = rng.choice(sorted({x["year"] for x in agreements}))
    renewing = [x for x in agreements if x["year"] == year]
    out.append(Question("count", rng.choice([f"How many agreements renew in {year}?",
                        f"How many of the service contracts are up for renewal in {year}?"]),
                        str(len(renewing)), numbers=[len(renewing)]))  # fmt: skip
    vendor = rng.choice(sorted({x["vendor"] for x in invoices}))
    mine = [x for x in invoices if x["vendor"] == vendor]
    out.append(Question("count", f"How many invoices did {vendor} send?", str(len(mine)),
                        numbers=[len(mine)]))  # fmt: skip
    total = sum(x["amount"] for x in mine)
    out.append(Question("total", rng.choice([f"What is the total amount invoiced by {vendor}?",
                        f"How much did {vendor} invoice in all?"]), f"{total:,}",
                        numbers=[total]))  # fmt: skip
    fees = sum(x["value"] for x in agreements)
    out.append(Question("total", "What is the sum of the yearly values of all the service "
                        "agreements?", f"{fees:,}", numbers=[fees]))  # fmt: skip
    best = max(agreements, key=lambda x: x["value"])
    out.append(Question("max", rng.choice(["Which provider has the highest yearly value?",
                        "Which service provider's agreement is worth the most per year?"]),
                        best["provider"], names=[best["provider"]],
                        not_names=[x["provider"] for x in agreements
                                   if x is not best]))  # fmt: skip
    top = max(invoices, key=lambda x: x["amount"])
    out.append(Question("max", "Which invoice has the largest total? Give its number.",
                        top["number"], names=[top["number"]]))  # fmt: skip
    year = rng.choice([y for y in (2026, 2027, 2028) if any(x["year"] == y for x in agreements)])
    listed = [x["provider"] for x in agreements if x["year"] == year]
    out.append(Question("list", f"Which contracts renew in {year}? List the providers.",
                        ", ".join(listed), names=listed,
                        not_names=[x["provider"] for x in agreements
                                   if x["year"] != year]))  # fmt: skip
    vendor = rng.choice(sorted({x["vendor"] for x in invoices}))
    nums = [x["number"] for x in invoices if x["vendor"] == vendor]
    out.append(Question("list", f"List the invoice numbers of the invoices from {vendor}.",
                        ", ".join(nums), names=nums,
                        not_names=[x["number"] for x in invoices
                                   if x["vendor"] != vendor]))  # fmt: skip
    return out


def numbers_in(text: str) -> list[float]:
    """Every number in `text`, with thousands separators (1,098,000 / 1 098 000) removed."""
    found = []
    for match in re.finditer(r"\d{1,3}(?:[, ]\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?", text):
        try:
            found.append(float(match.group().replace(",", "").replace(" ", "")))
        except ValueError:
            continue
    return found


def grade(q: Question, answer: str) -> bool:
    low = answer.lower()
    if q.kind == "lookup" and q.not_names and q.not_names[0].startswith("month:"):
        month = int(q.not_names[0].split(":")[1])
        month_ok = MONTHS[month - 1][:3].lower() in low or f"-{month:02d}-" in low
        nums = numbers_in(answer.replace("-", " "))
        return month_ok and q.names[0] in answer and q.numbers[0] in nums
    if q.names and not all(name.lower() in low for name in q.names):
        return False
    if any(name.lower() in low for name in q.not_names):
        return False
    if q.numbers:
        return any(
            abs(n - q.numbers[0]) <= 0.005 * max(1.0, q.numbers[0]) for n in numbers_in(answer)
        )
    return True
