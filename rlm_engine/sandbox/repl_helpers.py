"""REPL helpers over `context`, with pyrlm-runtime's names so that prompts and habits carry over.

Standalone and stdlib-only, like worker.py, which loads this file by path and calls `install`.
The helpers read the REPL's current `context` each time (a str, or a list of str, one per
document). The ones that ask a model go through the REPL's own `llm_query` / `llm_query_batched`,
so the host counts them against the same budgets, with the same events and costs.

    peek(n=2000) tail(n=2000)              the corpus's first / last n characters
    find(pattern, regex=False)             matches: document index, offset, snippet around each
    chunk(size, overlap=0)                 the corpus cut into pieces of `size` characters
    chunk_documents(docs_per_chunk)        the documents, grouped
    ask(question, text)                    one sub-call about a piece of text
    ask_chunks(question, chunks)           one sub-call per chunk, batched, answers in order
    ask_chunks_first(question, chunks)     chunks in order until one answers (None if none)
    pick_first_answer(answers)             the first answer that is one (not NO_ANSWER)
    extract_after(marker, max_len=128)     the text after the first `marker`, to the line's end
    dates(text)                            the dates in `text`, as "YYYY-MM-DD", in order
    numbers(text)                          the numbers in `text` (not those of dates or codes)
    date_after(text, label, within=80)     the first date after a match of `label` (a regex)
    number_after(text, label, within=80)   the first number after a match of `label`
    tally(value, keep=None, kind="auto", year=None, show=30)
                                           one value from every document, counted, added up,
                                           the largest shown: prints and returns the rows

The last five ask no model: small models write a regex for one layout of a date or an amount
("USD 476,500" but not "$476,500.00" or "476,500 USD"; "4 February 2028" but not "2028-02-04")
and count or add up the documents that happen to match it. `tally` goes further: a small model
fills in what to read (a label, a name to keep, a year) and the loop, the counting and the
printing, where it went wrong most, are done for it.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Sequence

NAMES = (
    "peek",
    "tail",
    "find",
    "chunk",
    "chunk_documents",
    "ask",
    "ask_chunks",
    "ask_chunks_first",
    "pick_first_answer",
    "extract_after",
    "dates",
    "numbers",
    "date_after",
    "number_after",
    "tally",
)
NO_ANSWER = "NO_ANSWER"
DOC_SEPARATOR = "\n\n"
MAX_MATCHES = 100
FIRST_BATCH = 4  # ask_chunks_first asks this many chunks at once, in order
_NOT_ANSWERS = re.compile(
    r"^(no_answer|none|n/?a|unknown|not (found|mentioned|stated|given|specified)"
    r"|the (snippet|text) does not (say|mention|contain|state)"
    r"|i (don't|do not|cannot|can't) (know|find|tell|determine))",
    re.IGNORECASE,
)
# Words a document may use for a label's word: "yearly value" is also "Annual contract value",
# "total" is also "The amount payable". A label's word with one of these stems reads them all.
_LABEL_SYNONYMS = (
    ("total", "amount", "payable", "due", "sum"),
    ("year", "annual", "annually", "per year"),
    ("renew", "renewal", "expir"),
    ("value", "worth"),
    ("cost", "price", "fee", "charge"),
)
_CODE = re.compile(r"\b[A-Z]{2,}-\d+\b")
_MONEY_WORDS = ("total", "amount", "sum", "payable", "value", "worth", "cost", "price", "fee",
                "charge", "bill", "revenue", "budget", "salar", "spen")  # fmt: skip
_MONEY = r"(?:\$|€|£|\b(?:USD|EUR|GBP)\b)\s?|(?=\b\d[\d,]*(?:\.\d+)?\s?(?:USD|EUR|GBP)\b)"
"""Where a sum marked as money starts: after its currency sign or code, or at a number that a
currency code follows."""
TALLY_ROWS = 30  # tally prints at most this many rows


_MONTH_NAMES = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_MONTH = "(?:" + "|".join(f"{m[:3]}(?:{m[3:]})?" for m in _MONTH_NAMES) + "|sept)"
_DATE = re.compile(
    r"\b(?P<y1>\d{4})-(?P<m1>\d{1,2})-(?P<d1>\d{1,2})\b"
    rf"|\b(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<mon2>{_MONTH})\.?,?\s+(?P<y2>\d{{4}})\b"
    rf"|\b(?P<mon3>{_MONTH})\.?\s+(?P<d3>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y3>\d{{4}})\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"(?<![\w.\-/])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w-])|(?<![\w.,\-/])\d+(?:\.\d+)?(?![\w-])"
)


def _month(name: str) -> int:
    name = name.lower()[:3]
    return next(i for i, m in enumerate(_MONTH_NAMES, start=1) if m.startswith(name))


def _iso(m: re.Match) -> str | None:
    """A date match as YYYY-MM-DD; None if it is no real date (month 13, 31 February)."""
    if m.group("y1"):
        year, month, day = int(m.group("y1")), int(m.group("m1")), int(m.group("d1"))
    elif m.group("y2"):
        year, month, day = int(m.group("y2")), _month(m.group("mon2")), int(m.group("d2"))
    else:
        year, month, day = int(m.group("y3")), _month(m.group("mon3")), int(m.group("d3"))
    try:
        return datetime.date(year, month, day).isoformat()
    except ValueError:
        return None


def find_dates(text: str) -> list[tuple[int, int, str]]:
    """(start, end, "YYYY-MM-DD") of each date in `text`: 2028-02-04, 4 February 2028,
    February 4, 2028 (month names whole or cut to three letters)."""
    found = []
    for m in _DATE.finditer(text):
        iso = _iso(m)
        if iso is not None:
            found.append((m.start(), m.end(), iso))
    return found


def find_numbers(text: str) -> list[tuple[int, int, float]]:
    """(start, end, value) of each number in `text` outside dates and codes (INV-1042):
    476,500 / 476500 / 476,500.00 / 0.5; a currency around it is left alone."""
    taken = [(a, b) for a, b, _ in find_dates(text)]
    found = []
    for m in _NUMBER.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        found.append((m.start(), m.end(), float(m.group().replace(",", ""))))
    return found


_SENTENCE_END = re.compile(r"\.\s|\n\s*\n")


def _after(text: str, label: str, within: int, found: Callable, sentence: bool = False) -> object:
    """The first item `found` finds within `within` characters after a match of `label` (and,
    with `sentence`, before the end of the label's sentence or paragraph)."""
    for m in re.finditer(label, text, re.IGNORECASE):
        window = text[m.end() : m.end() + max(0, int(within))]
        if sentence:
            window = _SENTENCE_END.split(window, maxsplit=1)[0]
        items = found(window)
        if items:
            return items[0][2]
    return None


def label_patterns(label: str) -> list[tuple[str, int]]:
    """The (regex, reach) pairs `tally` tries for a label, most exact first: the label as
    written (80 characters to the value), then, for plain words, each word with its synonyms,
    the last word first (in "yearly value" the value is what is read), a value close after it
    (40 characters: a word in running text is no label)."""
    patterns = [(label, 80)]
    if re.fullmatch(r"[\w\s'-]+", label):
        words = label.lower().split()
        for word in reversed(words):
            stem = word[:-1] if len(word) > 4 and word.endswith("s") else word
            group = next((g for g in _LABEL_SYNONYMS if any(stem.startswith(w) for w in g)), ())
            synonyms = dict.fromkeys([re.escape(stem), *(re.escape(w) for w in group)])
            patterns.append(("|".join(synonyms), 40))
    return patterns


def names_money(label: str) -> bool:
    """Whether a label names a sum of money ("amount", "total", "annual fee")."""
    return any(w.startswith(_MONEY_WORDS) for w in label.lower().split())


def mentions(doc: str, keep: str) -> bool:
    """Whether `doc` has every word of `keep`, case aside: a capitalised word as a whole word
    ("North" is not "Northwind"), another by its stem ("agreements" also finds "AGREEMENT",
    "providers" also finds "provide")."""
    for word in keep.split():
        if word[:1].isupper():
            pattern = rf"\b{re.escape(word)}\b"
        else:
            low = word.lower()
            stem = low[:6] if len(low) > 6 else low.rstrip("s") if len(low) > 4 else low
            pattern = re.escape(stem)
        if not re.search(pattern, doc, re.IGNORECASE):
            return False
    return True


def _head(doc: str, width: int = 90) -> str:
    return " ".join(doc.split())[:width]


def _shown(v: object) -> str:
    if isinstance(v, float):
        return f"{v:,.0f}" if v == int(v) else f"{v:,.2f}"
    return str(v)


def find_values(text: str) -> list[tuple[int, object, object]]:
    """The dates and numbers of `text`, in order (a date's digits are not numbers)."""
    return sorted([*find_dates(text), *find_numbers(text)], key=lambda item: item[0])


_READERS: dict[str, Callable] = {"date": find_dates, "number": find_numbers, "auto": find_values}
_YEAR = re.compile(r"(19|20)\d\d")


_TABLE_LINE = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|[\s:|-]+\|\s*$")


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def table_rows_as_records(doc: str) -> str:
    """`doc` with each pipe table of three or more columns written out as one paragraph per
    row, "Header: cell; ..." (a label before each value, as tally reads them). Two-column
    tables are a record's fields already ("| Renews on | 2027-01-16 |") and stay."""
    lines, out, i = doc.split("\n"), [], 0
    while i < len(lines):
        header = _cells(lines[i]) if _TABLE_LINE.match(lines[i]) else []
        if len(header) >= 3 and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1]):
            i += 2
            while i < len(lines) and _TABLE_LINE.match(lines[i]):
                out += ["", _row_as_record(header, lines[i]), ""]
                i += 1
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


RECORD_MAX_CHARS = 800
"""A paragraph longer than this is prose, not one record: find(record=True) shows a window."""


def record_around(doc: str, start: int, end: int, width: int) -> str:
    """The record that holds doc[start:end]: a pipe table's row written out with its header
    ("Invoice: INV-2; Vendor: Kestrel; Amount (USD): 800"), else the paragraph; a paragraph
    longer than RECORD_MAX_CHARS gives the `width` characters either side instead. Reads only
    near the match: a find() over a large document may make a thousand of these."""
    line_start = doc.rfind("\n", 0, start) + 1
    line_end = doc.find("\n", end)
    line = doc[line_start : line_end if line_end >= 0 else len(doc)]
    if _TABLE_LINE.match(line) and not _TABLE_RULE.match(line):
        header = _table_header(doc, line_start)
        if len(header) >= 3:
            return _row_as_record(header, line)
    near_start = max(0, start - RECORD_MAX_CHARS)
    before = list(_PARAGRAPH_BREAK.finditer(doc, near_start, start))
    begin = before[-1].end() if before else near_start
    after = _PARAGRAPH_BREAK.search(doc, end, end + RECORD_MAX_CHARS)
    finish = after.start() if after else min(len(doc), end + RECORD_MAX_CHARS)
    whole = (before or near_start == 0) and (after or finish == len(doc))
    if whole and finish - begin <= RECORD_MAX_CHARS:
        return doc[begin:finish].strip()
    return doc[max(0, start - width) : end + width]


_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
TABLE_ROWS_UP = 500  # how far up record_around looks for a table's header


def _table_header(doc: str, line_start: int) -> list[str]:
    """The header cells of the pipe table whose row starts at `line_start`; [] if none."""
    end = line_start - 1
    for _ in range(TABLE_ROWS_UP):
        if end <= 0:
            return []
        begin = doc.rfind("\n", 0, end) + 1
        line = doc[begin:end]
        if _TABLE_RULE.match(line):
            head_end = begin - 1
            head = doc[doc.rfind("\n", 0, max(head_end, 0)) + 1 : max(head_end, 0)]
            return _cells(head) if _TABLE_LINE.match(head) else []
        if not _TABLE_LINE.match(line):
            return []
        end = begin - 1
    return []


def _row_as_record(header: list[str], line: str) -> str:
    """A pipe table's row as "Header: cell; ...": a label before each value."""
    return "; ".join(f"{h}: {c}" for h, c in zip(header, _cells(line), strict=False))


def _read(text: str, patterns: list[tuple[str, int]], found: Callable) -> object:
    reads = (_after(text, p, n, found, sentence=True) for p, n in patterns)
    return next((x for x in reads if x is not None), None)


RECORD_CHARS = 400
"""A paragraph this short may be one record written in prose, its sum read by its money mark."""


def records(
    doc: str, patterns: list[tuple[str, int]], found: Callable, money: bool = False
) -> list[tuple[str, object]]:
    """What tally reads, with the value read from each: the document, or, when several of its
    paragraphs (or table rows) each hold a value after the label (a register, a ledger), each
    of those. With `money`, a short paragraph with no label before its value reads the sum
    marked as money in it ("Invoice INV-1 from Acme for $4,200 is overdue.")."""
    paragraphs = re.split(r"\n\s*\n", table_rows_as_records(doc))
    read = []
    for p in paragraphs:
        if p.strip():
            v = _read(p, patterns, found)
            if v is None and money and len(p) <= RECORD_CHARS:
                v = _read(p, [(_MONEY, 20)], found)
            read.append((p, v))
    holding = [(p, v) for p, v in read if v is not None]
    return holding if len(holding) >= 2 else [(doc, _read(doc, patterns, found))]


def _within(v: object, above: float | None, below: float | None) -> bool:
    """Whether `v` is a number strictly between the bounds given."""
    if not isinstance(v, float):
        return False
    return (above is None or v > above) and (below is None or v < below)


def _in_year(v: object, year: int) -> bool:
    return str(v).startswith(f"{year}-") or v == float(year)  # a date, or "Renewal year: 2028"


def tally_rows(
    docs: Sequence[str],
    value: str,
    keep: str | None,
    kind: str,
    year: int | None,
    money: bool = True,
) -> tuple[list[tuple[int, object, str]], list[int], list[int]]:
    """(rows of (document index, value, the record read), documents kept that hold no such
    value, documents whose value is not of `year`). `money=False` reads labelled values only."""
    # A sum marked as money is read only among records that `keep` picks: with no filter it
    # would add every sum of every kind of record (invoices to agreements' values).
    found, patterns = _READERS[kind], label_patterns(value)
    money = money and bool(keep) and names_money(value)
    rows, without, other_year = [], [], []
    for i, doc in enumerate(docs):
        if keep and not mentions(doc, keep):
            continue
        parts = records(doc, patterns, found, money)
        kept = [(part, v) for part, v in parts if v is not None]
        if len(parts) > 1 and keep:
            kept = [(part, v) for part, v in kept if mentions(part, keep)]
        if not kept:
            if keep:
                without.append(i)
            continue
        for part, v in kept:
            if year is not None and not _in_year(v, year):
                other_year.append(i)
            else:
                rows.append((i, v, part))
    return rows, without, other_year


def field_values(docs: Sequence[str], label: str) -> list[str]:
    """The values written after the field label `label` ("Region: North", a table's Region
    column), longest first: the groups `tally(..., by=label)` sorts records into."""
    values: dict[str, str] = {}
    for value in field_entries(docs, label):
        values.setdefault(value.lower(), value)
    return sorted(values.values(), key=len, reverse=True)


def field_entries(docs: Sequence[str], label: str) -> list[str]:
    """Every value written after the field label `label`, in order, repeats kept."""
    stem = re.escape(label.lower().rstrip("s"))
    pattern = re.compile(
        rf"\b{stem}\w*(?:[ \t]*\([^)\n]*\))?[ \t]*:"  # the label, "(USD)" after it
        rf"[ \t]*([^\n;|:]{{1,60}}?)[ \t]*(?=$|[;\n|]|\.\s)",  # the value, to the field's end
        re.IGNORECASE | re.MULTILINE,
    )
    entries = []
    for doc in docs:
        text = table_rows_as_records(doc) if "|" in doc else doc
        entries += [m.group(1).strip() for m in pattern.finditer(text)]
    return entries


def _named_before(text: str, label: str) -> str | None:
    """The capitalised words just before the label's word in prose: "the East region"."""
    stem = re.escape(label.lower().rstrip("s"))
    m = re.search(rf"((?:\b[A-Z][\w'-]*[ \t]+)+)(?i:{stem})", text)
    return " ".join(m.group(1).split()) if m else None


_NAME_RUN = re.compile(r"\b[A-Z][a-z][\w'-]*(?:[ \t]+[A-Z][a-z][\w'-]*)+")


def _first_name(text: str) -> str:
    """The first name of two or more capitalised words in a record written in prose ("Invoice
    INV-1 from Harbor Logistics for $4,200"), or "(none)"."""
    m = _NAME_RUN.search(text)
    return m.group() if m else "(none)"


def group_rows(
    found: list[tuple[int, object, str]], groups: list[str], label: str = ""
) -> list[tuple[str, int, float]]:
    """(group, records, total of their numbers) for each group that a record mentions (as whole
    words, the longest group first: "Northwind Foods" before "North"); a record that mentions
    none joins the group its prose names before the label's word ("the East region")."""

    def pattern(group: str) -> re.Pattern:
        return re.compile(rf"(?<!\w){re.escape(group)}(?!\w)", re.IGNORECASE)

    patterns = [(g, pattern(g)) for g in groups]
    counts: dict[str, int] = {}
    totals: dict[str, float] = {}
    for _, v, text in found:
        group = next((g for g, p in patterns if p.search(text)), None)
        if group is None:
            group = (_named_before(text, label) if label else None) or _first_name(text)
            if group != "(none)":
                patterns.append((group, pattern(group)))
        counts[group] = counts.get(group, 0) + 1
        totals[group] = totals.get(group, 0.0) + (v if isinstance(v, float) else 0.0)
    return [(g, counts[g], totals[g]) for g in counts]


def tally_report(
    docs: list[str],
    value: str,
    keep: str | None,
    kind: str = "auto",
    year: int | None = None,
    show: int = TALLY_ROWS,
    by: str | None = None,
    rank: str = "total",
    above: float | None = None,
    below: float | None = None,
) -> tuple[list, str]:
    """The rows and what `tally` prints: the count, the total and the largest of the numbers,
    the dates by year, then a row per document (its code like INV-1042 and its first words,
    where names are). A `keep` that is a year is read as `year` (what small models write).
    With `by`, the rows are the groups instead: see tally."""
    if keep and year is None and _YEAR.fullmatch(keep.strip()):
        keep, year = None, int(keep)
    found, without, other_year = tally_rows(docs, value, keep, kind, year)
    bounds, outside = "", 0
    if above is not None or below is not None:
        inside = [r for r in found if _within(r[1], above, below)]
        bounds = "".join(
            f" {word} {_shown(float(limit))}"
            for word, limit in (("above", above), ("below", below))
            if limit is not None
        )
        outside, found = len(found) - len(inside), inside
    rows = [(i, v) for i, v, _ in found]
    numbers = [(i, v) for i, v in rows if isinstance(v, float)]
    found_dates = [str(v) for _, v in rows if isinstance(v, str)]
    what = {"number": "a number", "date": "a date"}.get(kind, "a value")
    which = f"documents mentioning {keep!r}" if keep else "documents"
    lines = [
        f"{len(rows)} {which} with {what} after {value!r}"
        + (f" in {year}" if year else "")
        + bounds
    ]
    if by:
        return _by_group(found, field_values(docs, by), by, rank, show, lines)
    lines.append(f"count: {len(rows)}")
    if show == 0 and rows:
        return rows, "\n".join(lines)  # the count alone: nothing else to read a number from
    if numbers:
        best = max(found, key=lambda r: r[1] if isinstance(r[1], float) else float("-inf"))
        lines.append(f"total: {_shown(sum(v for _, v in numbers))}")
        lines.append(f"largest: {_shown(best[1])} in context[{best[0]}]: {_head(best[2])}")
    if found_dates and year is None:
        years: dict[str, int] = {}
        for v in found_dates:
            years[v[:4]] = years.get(v[:4], 0) + 1
        lines.append("by year: " + ", ".join(f"{y}: {n}" for y, n in sorted(years.items())))
    if other_year:
        lines.append(f"({len(other_year)} more with a value not in {year})")
    if bounds and outside:
        lines.append(f"({outside} more with a value not{bounds})")
    shown = sorted(found, key=lambda r: -r[1]) if len(numbers) == len(rows) else found
    for i, v, text in shown[:show]:  # numbers largest first: "which" is the first row
        code = _CODE.search(text) or _CODE.search(docs[i])
        lines.append(
            f"  context[{i}]: {_shown(v)} | {code.group() if code else '-'} | {_head(text)}"
        )
    if len(rows) > show:
        lines.append(f"  ... and {len(rows) - show} more rows (returned)")
    if without:
        lines.append(
            f"{len(without)} {which} have no {what[2:]} after {value!r}, e.g. "
            f"context[{without[0]}]: {_head(docs[without[0]], 200)}"
        )
    if not rows:
        lines.append("Nothing matched: try another label, or keep=None.")
    return rows, "\n".join(lines)


def _by_group(
    found: list[tuple[int, object, str]],
    groups: list[str],
    by: str,
    rank: str,
    show: int,
    lines: list[str],
) -> tuple[list[tuple[str, int, float]], str]:
    """tally's report by group: how many groups, then one row per group, the first ranked
    highest (by its total, or by its number of records with rank="count")."""
    grouped = group_rows(found, groups, by)
    named = [g for g in grouped if g[0] != "(none)"]
    lines.append(f"count: {len(named)} different values of {by!r}")
    order = (lambda g: (-g[1], -g[2])) if rank == "count" else (lambda g: (-g[2], -g[1]))
    grouped.sort(key=order)
    for group, n, total in grouped[: show or None] if show else []:
        lines.append(f"  {group}: total {_shown(total)} in {n} record{'s' * (n != 1)}")
    if show and len(grouped) > show:
        lines.append(f"  ... and {len(grouped) - show} more groups (returned)")
    if not found:
        lines.append("Nothing matched: try another label, or keep=None.")
    return grouped, "\n".join(lines)


def question_prompt(question: str, text: str) -> str:
    """What `ask` sends the sub model (the engine's fallback sends the same)."""
    return (
        f"Question: {question}\nSnippet:\n{text}\n\n"
        f"Answer the question from the snippet alone, briefly. If the snippet does not "
        f"hold the answer, reply {NO_ANSWER}."
    )


def is_answer(answer: object) -> bool:
    """Not empty, not NO_ANSWER or "not found", not the error string of a failed sub-call."""
    if answer is None:
        return False
    text = str(answer).strip()
    if not text or text.startswith("Error:") or _NOT_ANSWERS.match(text):
        return False
    return not (NO_ANSWER in text.upper() and len(text) < len(NO_ANSWER) + 20)


def install(ns: dict, llm_query: Callable, llm_query_batched: Callable) -> None:
    """Put the helpers into the REPL namespace `ns`."""

    def documents() -> list[str]:
        context = ns.get("context")
        if context is None:
            return []
        if isinstance(context, str):
            return [context]
        if isinstance(context, (list, tuple)):
            return [d if isinstance(d, str) else str(d) for d in context]
        return [str(context)]

    def corpus() -> str:
        return DOC_SEPARATOR.join(documents())

    def peek(n: int = 2000) -> str:
        """The first `n` characters of the corpus (documents joined by a blank line)."""
        return corpus()[: max(0, int(n))]

    def tail(n: int = 2000) -> str:
        """The last `n` characters of the corpus (documents joined by a blank line)."""
        n = max(0, int(n))
        return corpus()[-n:] if n else ""

    def find(
        pattern: str,
        regex: bool = False,
        width: int = 150,
        max_matches: int = MAX_MATCHES,
        record: bool = False,
    ) -> list[dict]:
        """Where `pattern` occurs, case-insensitively: a list of {"doc", "offset", "match",
        "snippet"} (document index, offset in that document, the text matched, `width`
        characters either side), at most `max_matches`. `regex=True` reads it as a regular
        expression; otherwise it is literal text. `record=True`: the snippet is the record
        that holds the match instead (a table row with its header's labels, or the paragraph;
        a long paragraph of prose still gives the window)."""
        if not isinstance(pattern, str) or not pattern:
            raise ValueError("find needs a non-empty pattern (a string)")
        compiled = re.compile(pattern if regex else re.escape(pattern), re.IGNORECASE)
        found: list[dict] = []
        for index, doc in enumerate(documents()):
            for m in compiled.finditer(doc):
                if m.end() == m.start():
                    continue  # an empty match says nothing
                snippet = (
                    record_around(doc, m.start(), m.end(), width)
                    if record
                    else doc[max(0, m.start() - width) : m.end() + width]
                )
                found.append(
                    {"doc": index, "offset": m.start(), "match": m.group(), "snippet": snippet}
                )
                if len(found) >= max_matches:
                    return found
        return found

    def chunk(size: int, overlap: int = 0) -> list[str]:
        """The corpus (documents joined by a blank line) in pieces of `size` characters, each
        starting `size - overlap` after the previous one."""
        size, overlap = int(size), int(overlap)
        if size < 1 or not 0 <= overlap < size:
            raise ValueError("chunk needs size >= 1 and 0 <= overlap < size")
        text = corpus()
        step = size - overlap
        return [text[i : i + size] for i in range(0, max(len(text) - overlap, 1), step) if text]

    def chunk_documents(docs_per_chunk: int = 1) -> list[str]:
        """The documents in groups of `docs_per_chunk`, each group joined by a blank line."""
        k = int(docs_per_chunk)
        if k < 1:
            raise ValueError("chunk_documents needs docs_per_chunk >= 1")
        docs = documents()
        return [DOC_SEPARATOR.join(docs[i : i + k]) for i in range(0, len(docs), k)]

    def ask(question: str, text: str) -> str:
        """One sub-call: the sub model answers `question` from `text` (or says NO_ANSWER)."""
        return llm_query(question_prompt(str(question), str(text)))

    def ask_chunks(question: str, chunks: list) -> list[str]:
        """One sub-call per chunk, run concurrently; the answers in the chunks' order."""
        if isinstance(chunks, str):
            chunks = [chunks]
        return llm_query_batched([question_prompt(str(question), str(c)) for c in chunks])

    def ask_chunks_first(question: str, chunks: list) -> str | None:
        """The chunks in order (a few at a time) until one holds the answer; None if none."""
        if isinstance(chunks, str):
            chunks = [chunks]
        chunks = list(chunks)
        for start in range(0, len(chunks), FIRST_BATCH):
            found = pick_first_answer(ask_chunks(question, chunks[start : start + FIRST_BATCH]))
            if found is not None:
                return found
        return None

    def pick_first_answer(answers: list) -> str | None:
        """The first answer that is one: not empty, not NO_ANSWER or "not found", not an
        error string of a failed sub-call; None if there is none."""
        if isinstance(answers, str):
            answers = [answers]
        for answer in answers or []:
            if is_answer(answer):
                return str(answer).strip()
        return None

    def extract_after(marker: str, max_len: int = 128) -> str | None:
        """The text after the first `marker` (case-insensitive) in the corpus, up to the end of
        its line and at most `max_len` characters, stripped; None if the marker is nowhere."""
        if not isinstance(marker, str) or not marker:
            raise ValueError("extract_after needs a non-empty marker (a string)")
        compiled = re.compile(re.escape(marker), re.IGNORECASE)
        for doc in documents():
            m = compiled.search(doc)
            if m is not None:
                after = doc[m.end() : m.end() + max(0, int(max_len))]
                return after.split("\n", 1)[0].strip()
        return None

    def dates(text: str) -> list[str]:
        """The dates in `text`, as "YYYY-MM-DD", in order (2028-02-04, 4 February 2028,
        February 4, 2028, Feb 4 2028)."""
        return [iso for _, _, iso in find_dates(str(text))]

    def numbers(text: str) -> list[float]:
        """The numbers in `text`, in order, separators removed (USD 476,500 -> 476500.0); not
        the parts of a date, nor the digits of a code like INV-1042."""
        return [value for _, _, value in find_numbers(str(text))]

    def date_after(text: str, label: str, within: int = 80) -> str | None:
        """The first date within `within` characters after a match of `label` (a regex,
        case-insensitive), as "YYYY-MM-DD"; None if there is none."""
        return _after(str(text), label, within, find_dates)  # type: ignore[return-value]

    def number_after(text: str, label: str, within: int = 80) -> float | None:
        """The first number within `within` characters after a match of `label` (a regex,
        case-insensitive); None if there is none."""
        return _after(str(text), label, within, find_numbers)  # type: ignore[return-value]

    def tally(
        value: str,
        keep: str | None = None,
        kind: str = "auto",
        year: int | None = None,
        show: int = TALLY_ROWS,
        by: str | None = None,
        rank: str = "total",
        above: float | None = None,
        below: float | None = None,
    ) -> list:
        """Read the value after the label `value` in every document (that mentions `keep`, if
        given; with `year`, only dates of that year), print the count, the total and the
        largest, and a row per document; return the rows, (index, value) pairs. `kind` is
        "number", "date" or "auto" (whichever comes first after the label). Plain words of
        `value` also match their usual synonyms ("total" finds "amount payable"). `show`: how
        many rows to print (all are returned); 0 prints the count alone.

        `by="region"` groups the records by the values written after that field's label
        ("Region: North"; a record written in prose joins the group it names): the count is
        then the number of groups, and the rows, (group, records, total) triples, come highest
        total first, or most records first with rank="count".

        `above=250000` / `below=...` keep only the records whose number is more / less than
        that ("agreements with a fee above USD 250,000")."""
        if not isinstance(value, str) or not value.strip():
            raise ValueError('tally needs a label to read after, e.g. tally("total")')
        if kind not in _READERS:
            raise ValueError('tally reads kind="auto", kind="number" or kind="date"')
        year = int(year) if year is not None else None
        keep = str(keep) if keep else None
        if rank not in ("total", "count"):
            raise ValueError('tally ranks groups by rank="total" or rank="count"')
        by = str(by) if by else None
        above = float(above) if above is not None else None
        below = float(below) if below is not None else None
        rows, report = tally_report(
            documents(), value, keep, kind, year, max(0, int(show)), by, rank, above, below
        )
        print(report)
        return rows

    for fn in (
        peek,
        tail,
        find,
        chunk,
        chunk_documents,
        ask,
        ask_chunks,
        ask_chunks_first,
        pick_first_answer,
        extract_after,
        dates,
        numbers,
        date_after,
        number_after,
        tally,
    ):
        ns[fn.__name__] = fn
