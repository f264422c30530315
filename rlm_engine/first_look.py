"""The first look: a search the engine runs for a small root model before its first turn.

Read off the offline model's traces: a 1.5B root model's first block is rarely the search its
prompt teaches. It prints `context` (and sees the first 2,500 characters of it), or describes
`context` in prose three turns running, then answers from what it happened to see. So the engine
writes the first block itself: a `find()` for the question's most specific words (names, codes,
quoted text; else its content words, stemmed), printing where they occur. The block runs in the
sandbox like any other (a CodeExecuted event of iteration 0, shown in the trace), and its output
opens the conversation, so the model's first turn starts from the passages that matter and the
evidence guard counts them as seen.

For a question that counts, adds up, compares or lists, the look is a `tally(...)` the engine
fills in from the question (tally_guess): a handful of matches would only invite a guessed count.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rlm_engine.sandbox.repl_helpers import (
    field_entries,
    names_money,
    table_rows_as_records,
    tally_rows,
)

MAX_TERMS = 3
SNIPPETS_PER_TERM = 3
MAX_MATCHES = 1_000
SNIPPET_WIDTH = 120
"""Characters either side of a match: a form's line or a table row, a sentence of prose."""

_QUESTION_TEXT = (
    "a about after all also an and any are as at be been before between by can could did do "
    "does each either every for from give had has have how i if in into is it its list many me "
    "much my name of on or our over per please show so tell than that the their them then there "
    "these they this those to under up us was we were what when where which while who whom whose "
    "why will with within would you your find compare"
)
_QUESTION_WORDS = frozenset(_QUESTION_TEXT.split())
_VAGUE_TEXT = (
    "amount answer date document documents number numbers sum text total value values way time "
    "times thing things year years largest highest lowest smallest most least biggest first "
    "last"
)
_VAGUE_WORDS = frozenset(_VAGUE_TEXT.split())
_QUOTED = re.compile(r"[\"“«']([^\"”»']{3,60})[\"”»']")
_CODE = re.compile(r"\b[A-Za-z]{0,8}[-/#]?\d{2,}[A-Za-z0-9/-]*\b")
_YEAR = re.compile(r"^(19|20)\d\d$")
_NAME = re.compile(r"[A-Z][\w'’.-]*(?:\s+(?:&\s+|of\s+|and\s+)?[A-Z][\w'’.-]*)*")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{3,}")
_CURRENCIES = frozenset(["USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "CNY", "INR"])
_QUESTION_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
# Words that name the value a question adds up or compares: tried as tally's label first.
_VALUE_TEXT = "total amount value cost price fee worth weight balance salary revenue budget"
_VALUE_WORDS = frozenset(_VALUE_TEXT.split())
_FALLBACK_LABELS = ["total", "amount", "value", "date"]
"""Labels tried after the question's own words: "How many invoices did X send?" names none."""
TALLY_GUESS_MAX_CHARS = 5_000_000
"""Above this the engine does not try labels for the model (each try reads the corpus once)."""


_AGGREGATE = re.compile(
    r"\b(how many|number of|count|total|sum|in all|altogether|combined|average|highest|"
    r"largest|biggest|greatest|most|least|lowest|smallest|fewest|list|all the|every|each)\b",
    re.IGNORECASE,
)


def is_aggregate(question: str) -> bool:
    """Whether answering takes every matching document (count, add up, compare, list) rather
    than one fact: a question naming a code (invoice INV-1042's total) asks for one fact."""
    if any(_CODE.fullmatch(t) for t in specific_terms(question)):
        return False
    return bool(_AGGREGATE.search(question))


def specific_terms(question: str) -> list[str]:
    """Quoted text, codes (INV-1042, SA-7) and capitalised names, in the question's order."""
    terms: list[str] = [m.group(1).strip() for m in _QUOTED.finditer(question)]
    for m in _CODE.finditer(question):
        code = m.group()
        if not _YEAR.match(code) and (any(c.isalpha() for c in code) or len(code) >= 5):
            terms.append(code)
    for m in _NAME.finditer(question):
        if m.start() == 0 and " " not in m.group():
            continue  # the capital of the question's first word is grammar, not a name
        words = m.group().split()
        while words and words[0].lower() in _QUESTION_WORDS:
            words = words[1:]  # "Which Copperfield Tools" -> "Copperfield Tools"
        name = " ".join(words).strip(" .,'’")
        if name.upper() in _CURRENCIES:
            continue  # "in USD" names no document
        if name and name.lower() not in _QUESTION_WORDS and not _CODE.fullmatch(name):
            terms.append(name)
    return _unique(terms)


def stem(word: str) -> str:
    """A literal prefix that finds the word's other forms: agreements -> agreement, renewal ->
    renew, invoiced -> invoice, yearly -> year."""
    word = word.lower()
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", "e"), ("al", ""), ("ly", ""),
                         ("es", "e"), ("s", "")):  # fmt: skip
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: len(word) - len(suffix)] + keep
            break
    return word[:-1] if word.endswith("e") and len(word) > 5 else word


def content_terms(question: str) -> list[str]:
    """The question's content words, stemmed, in its order, the vaguest left out."""
    words = [re.sub(r"['’]s?$", "", w.lower()) for w in _WORD.findall(question)]
    kept = [w for w in words if w not in _QUESTION_WORDS and w not in _VAGUE_WORDS]
    return _unique(stem(w) for w in kept)


def content_phrases(question: str) -> list[str]:
    """Runs of two or more content words as the question writes them, longest first: "the slate
    walrus team's access code" -> "slate walrus team", "slate walrus", "walrus team", ...
    Lower-case names ("the slate walrus team") are found by these, not by single words."""
    runs, run = [], []
    for raw in _WORD.findall(question):
        word = re.sub(r"['’]s?$", "", raw.lower())
        content = word not in _QUESTION_WORDS and word not in _VAGUE_WORDS
        if content:
            run.append(word)
        if not content or word != raw.lower():  # a possessive ends a name too
            runs.append(run)
            run = []
    runs.append(run)
    phrases = [
        " ".join(r[i : i + n]) for r in runs for n in range(len(r), 1, -1)
        for i in range(len(r) - n + 1)
    ]  # fmt: skip
    return _unique(sorted(phrases, key=lambda p: -len(p.split())))


def look_terms(question: str, documents: Sequence[str]) -> list[str]:
    """What the first look searches for: the specific terms found in `documents` if there are
    any; else the rarest run of the question's content words found there (a phrase names one
    thing where its words apart name many: "slate walrus team", not "access code issued"), then
    the content words found there, the rarest first; at most MAX_TERMS."""
    found = [t for t in specific_terms(question) if _occurs(t, documents)]
    if found:
        return found[:MAX_TERMS]
    counted = [(_matches(p, documents), p) for p in content_phrases(question)]
    found_phrases = [(n, -len(p.split()), p) for n, p in counted if n]
    matches = {t: _matches(t, documents) for t in content_terms(question)}  # each read once
    words = [t for t, n in matches.items() if n]
    if not found_phrases:
        return words[:MAX_TERMS]
    phrase = min(found_phrases)[2]  # the rarest, the longest of those
    words = [w for w in words if w not in phrase]
    return [phrase, *sorted(words, key=matches.__getitem__)][:MAX_TERMS]


def _matches(term: str, documents: Sequence[str]) -> int:
    pattern = re.compile(re.escape(term), re.IGNORECASE)
    return sum(len(pattern.findall(doc)) for doc in documents)


def _occurs(term: str, documents: Sequence[str]) -> bool:
    pattern = re.compile(re.escape(term), re.IGNORECASE)
    return any(pattern.search(doc) for doc in documents)


def look_code(question: str, context: str | Sequence[str]) -> str | None:
    """The first look's block; None when no word of the question occurs in `context` (a block
    that prints only "0 matches" would tell the model nothing)."""
    terms = look_terms(question, [context] if isinstance(context, str) else context)
    if not terms:
        return None
    # In a function, deleted after: the model's own code reuses names like `docs` and `hits`.
    return (
        "# The engine's first look: where the question's words occur in `context`.\n"
        "def _first_look(terms):\n"
        "    for term in terms:\n"
        f"        hits = find(term, width={SNIPPET_WIDTH}, max_matches={MAX_MATCHES}, "
        "record=True)\n"
        "        docs = sorted({h['doc'] for h in hits})\n"
        "        print(f'{term!r}: {len(hits)} matches in {len(docs)} documents')\n"
        "        shown = set()\n"
        "        for h in hits:\n"
        "            if h['doc'] in shown:\n"
        "                continue\n"
        "            shown.add(h['doc'])\n"
        "            print(f\"  context[{h['doc']}]: ...{' '.join(h['snippet'].split())}...\")\n"
        f"            if len(shown) == {SNIPPETS_PER_TERM}:\n"
        "                break\n"
        f"_first_look({terms!r})\n"
        "del _first_look\n"
    )


_ASKS = (
    ("list", re.compile(r"\blist\b", re.IGNORECASE)),
    # "Which vendor appears on the largest number of invoices?" asks which, not how many.
    (
        "which",
        re.compile(
            r"\b(which|who|whose)\b.*\b(largest|greatest|highest|smallest) number of\b",
            re.IGNORECASE,
        ),
    ),
    ("count", re.compile(r"\bhow many\b|\bnumber of\b|\bcount\b", re.IGNORECASE)),
    ("which", re.compile(r"\b(which|who|whose)\b", re.IGNORECASE)),
    # "Name the vendor with the highest-value pending invoice" asks which, too.
    (
        "which",
        re.compile(
            r"\b(name|identify)\s+the\s+[a-z]+\s+(with|that has|whose)\b.*\b(highest|largest|"
            r"biggest|greatest|most|lowest|smallest|least)\b",
            re.IGNORECASE,
        ),
    ),
    ("total", re.compile(r"\b(total|sum|in all|how much|altogether|combined)\b", re.IGNORECASE)),
)


_BOUND = re.compile(
    r"\b(?P<side>above|over|more than|greater than|higher than|exceeding|in excess of|"
    r"below|under|less than|lower than|smaller than)\s+(?P<mark>(?:USD|EUR|GBP)\s?|[$€£])?"
    r"(?P<number>\d[\d,]*(?:\.\d+)?)(?:\s?(?P<scale>k|thousand|million|m)\b)?",
    re.IGNORECASE,
)
_SCALES = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6}
_BELOW = ("below", "under", "less than", "lower than", "smaller than")


def bounds(question: str) -> dict[str, float]:
    """The numbers a question's records must be above or below ("a fee above USD 228,500"), as
    tally's `above`/`below`; a bare year ("over 2027") is not a bound."""
    found: dict[str, float] = {}
    for m in _BOUND.finditer(question):
        if not m["mark"] and not m["scale"] and _YEAR.match(m["number"]):
            continue
        number = float(m["number"].replace(",", "")) * _SCALES.get((m["scale"] or "").lower(), 1)
        found["below" if m["side"].lower() in _BELOW else "above"] = number
    return found


_ASKS_DATE = re.compile(r"\bwhen\b|\b(what|which) (date|day)\b", re.IGNORECASE)


def asks_for_date(question: str) -> bool:
    """Whether a lookup asks for a date (the 1.5B model answered "2027" for 8 July 2027)."""
    return bool(_ASKS_DATE.search(question))


def asks_for(question: str) -> str | None:
    """What a counting question wants from tally's output: "list", "count", "which" (the
    first row's name) or "total"; None if none of these."""
    return next((kind for kind, pattern in _ASKS if pattern.search(question)), None)


def tally_guess(question: str, documents: Sequence[str]) -> str | None:
    """The `tally(...)` call the engine makes for a question that counts, adds up, compares or
    lists: `keep` the question's first name or code found in the corpus, `year` a year it names,
    and as the label the question's word after which most documents hold a value (words naming
    a value, like "total", first). None when no word reads a value, or the corpus is huge.

    Read off the traces: given `tally`, the 1.5B model still picks the label and the filter
    wrongly about half the time (a year from the example, "provider" for a value); the engine
    tries the question's own words against the documents instead, and the model reads the rows.
    """
    if sum(len(d) for d in documents) > TALLY_GUESS_MAX_CHARS:
        return None
    name = next((t for t in specific_terms(question) if _occurs(t, documents)), None)
    year_match = _QUESTION_YEAR.search(question)
    year = int(year_match.group()) if year_match else None
    words = re.findall(r"[a-z]+", question.lower())  # "fee" too: _WORD wants four letters
    named = [w.rstrip("s") for w in words if w.rstrip("s") in _VALUE_WORDS]
    inside_name = set(stem(w) for w in (name or "").split())
    by, rank = group_by(question, documents)
    terms = [t for t in content_terms(question) if t not in inside_name and t != by]
    filters = [t for t in terms if t not in named and _filters(t, documents)]
    keep = " ".join([name, *filters] if name else filters) or None
    others = [t for t in terms if t not in filters]
    fallback = _FALLBACK_LABELS if keep else []  # only where the question names something
    tiers = (_unique(named), _unique([*others, *fallback]))
    # A date question counts rows; others compare numbers ("issued in March" reads a date)
    dated = year or asks_for_date(question)
    # Labelled values first: a sum marked as money reads under any money label alike.
    for labels, money in [(t, False) for t in tiers] + [(t, True) for t in tiers]:
        best, most = None, (0, 0, False)
        for label in labels:
            rows = tally_rows(documents, label, keep, "auto", year, money=money)[0]
            numbers = sum(isinstance(v, float) for _, v, _ in rows)
            found = (len(rows), numbers) if dated else (numbers, len(rows))
            found += (names_money(label),)  # a tie: "amount" before "vendor" (the next field's)
            if rows and found > most:
                best, most = label, found
        if best is not None:
            arguments = [repr(best)]
            arguments += [f"keep={keep!r}"] if keep else []
            arguments += [f"year={year}"] if year else []
            arguments += [f"by={by!r}"] if by else []
            arguments += ['rank="count"'] if by and rank == "count" else []
            arguments += [f"{side}={limit:g}" for side, limit in bounds(question).items()]
            shows = {"which": "show=1", "count": "show=0"}  # no other row's name, no other number
            arguments += [shows[asks]] if (asks := asks_for(question)) in shows else []
            return f"tally({', '.join(arguments)})"
    return None


_GROUP_WHICH = re.compile(r"\b(?:which|what)\s+([a-z]+)", re.IGNORECASE)
_GROUP_DISTINCT = re.compile(
    r"\bhow many (?:different|distinct|unique|separate)\s+([a-z]+)", re.IGNORECASE
)
_GROUP_SUM = re.compile(r"\b(total|sum|adds? up|combined|in all|altogether)\b", re.IGNORECASE)
_RANK_COUNT = re.compile(
    r"\b(?:most|fewest)\s+(?!\w*(?:fee|amount|value|cost|money|revenue|spend))[a-z]+s\b"
    r"|\b(?:largest|greatest|highest|smallest) number of\b|\bmost often\b",
    re.IGNORECASE,
)


def group_by(question: str, documents: Sequence[str]) -> tuple[str | None, str]:
    """The field a question groups records by, and how it ranks the groups: "Which region's
    fees add up to the most?" ("region", "total"), "Which vendor has the most invoices?"
    ("vendor", "count"), "How many different vendors ...?" ("vendor", "count"); (None, "") if
    it groups nothing. The field must be a label in the documents ("Region: North")."""
    distinct = _GROUP_DISTINCT.search(question)
    which = _GROUP_WHICH.search(question)
    if distinct:
        word = distinct.group(1)
    elif which and (_GROUP_SUM.search(question) or _RANK_COUNT.search(question)):
        word = which.group(1)
    else:
        return None, ""
    field = stem(word)
    if word.lower() in _QUESTION_WORDS:
        return None, ""  # "What is the total ...?"
    entries = [e.lower() for e in field_entries(documents, field)]
    codes = sum(bool(_CODE.fullmatch(e)) for e in entries)
    if not entries or codes > len(entries) / 2 or len(set(entries)) > 0.8 * len(entries) >= 8:
        return None, ""  # no such field, or one whose values are each record's own (its code)
    return field, "count" if distinct or _RANK_COUNT.search(question) else "total"


def _filters(term: str, documents: Sequence[str]) -> bool:
    """Whether the question's word `term` picks records: a field's value somewhere ("Status:
    overdue", a table's "| overdue |" cell), or the noun that names records by their codes
    ("Invoice INV-1042", "agreement SA-7"). A label ("Vendor: ...") picks none."""
    value = re.compile(rf":[ \t]*{re.escape(term)}", re.IGNORECASE)
    noun = re.compile(rf"\b{re.escape(term)}\w*:?[ \t]+[A-Z]{{2,}}-\d", re.IGNORECASE)
    for doc in documents:
        if noun.search(doc) or value.search(table_rows_as_records(doc) if "|" in doc else doc):
            return True
    return False


def tally_code(call: str) -> str:
    """The first look's block for a question that counts, adds up, compares or lists."""
    return (
        "# The engine's first look: the value the question asks about, from every document.\n"
        f"_rows = {call}\n"
        "del _rows\n"
    )


def _unique(items: object) -> list[str]:
    seen: dict[str, str] = {}
    for item in items:  # type: ignore[attr-defined]
        key = str(item).lower()
        if key and key not in seen:
            seen[key] = str(item)
    return list(seen.values())
