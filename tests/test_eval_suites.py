"""Built-in suites: deterministic by seed, about the size asked, and every expected answer right.

The expected answers are recomputed here from the corpus text alone, by parsers written against
the documented layouts (blocks with any label case, prose, table rows), never from the
generator's own records.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from rlm_engine.corpus import load_paths
from rlm_eval.suite import KINDS, make_suite, write_suite

SIZES = [8_000, 64_000, 1_000_000]


def corpus_text(out: Path) -> str:
    return "\n\n".join(doc.text for doc in load_paths(out / "corpus").documents)


def written(kind: str, size: int, seed: int, tmp_path: Path) -> tuple[Path, list[dict]]:
    out = tmp_path / f"{kind}-{size}-{seed}"
    write_suite(make_suite(kind, size, seed), out)
    lines = (out / "set.jsonl").read_text().splitlines()
    return out, [json.loads(line) for line in lines]


def money(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text))


# -- count: parse agreements and invoices in every layout ------------------------------------


def parse_records(text: str) -> tuple[dict[str, dict], dict[str, dict]]:
    agreements: dict[str, dict] = {}
    invoices: dict[str, dict] = {}
    amount = r"(USD [\d,]+|\$[\d,]+|\d+ USD)"
    for m in re.finditer(
        r"service agreement (SA-\d+)\nvendor: (.+)\nregion: (\w+)\nannual fee: "
        + amount
        + r"\nterm: (\d+) months\nrenewal year: (\d{4})",
        text,
        re.I,
    ):
        agreements[m[1]] = dict(vendor=m[2], region=m[3].title(), fee=money(m[4]), year=int(m[6]))
    for m in re.finditer(
        r"Service agreement (SA-\d+) was signed with (.+?) for the (\w+) region; it carries an "
        r"annual fee of " + amount + r" over \d+ months and renews in (\d{4})\.",
        text,
    ):
        agreements[m[1]] = dict(vendor=m[2], region=m[3], fee=money(m[4]), year=int(m[5]))
    for m in re.finditer(
        r"Under service agreement (SA-\d+), (.+?) serves the (\w+) region for \d+ months at an "
        r"annual fee of " + amount + r"; the renewal year is (\d{4})\.",
        text,
    ):
        agreements[m[1]] = dict(vendor=m[2], region=m[3], fee=money(m[4]), year=int(m[5]))
    for m in re.finditer(
        r"^\| (SA-\d+) \| (.+?) \| (\w+) \| ([\d,]+) \| \d+ \| (\d{4}) \|$", text, re.M
    ):
        agreements[m[1]] = dict(vendor=m[2], region=m[3], fee=money(m[4]), year=int(m[5]))

    for m in re.finditer(
        r"invoice (INV-\d+)\nvendor: (.+)\namount: " + amount + r"\nstatus: (\w+)\nmonth: ",
        text,
        re.I,
    ):
        invoices[m[1]] = dict(vendor=m[2], amount=money(m[3]), status=m[4].lower())
    for m in re.finditer(
        r"Invoice (INV-\d+) from (.+?) for " + amount + r" was issued in \w+ 2025 and is (\w+)\.",
        text,
    ):
        invoices[m[1]] = dict(vendor=m[2], amount=money(m[3]), status=m[4])
    for m in re.finditer(
        r"^(.+?) billed " + amount + r" on invoice (INV-\d+) \(\w+ 2025\); status: (\w+)\.",
        text,
        re.M,
    ):
        invoices[m[3]] = dict(vendor=m[1], amount=money(m[2]), status=m[4])
    for m in re.finditer(
        r"^\| (INV-\d+) \| (.+?) \| ([\d,]+) \| (\w+) \| \w+ 2025 \|$", text, re.M
    ):
        invoices[m[1]] = dict(vendor=m[2], amount=money(m[3]), status=m[4])
    return agreements, invoices


def answer_count(question: str, agr: dict[str, dict], inv: dict[str, dict]) -> object:
    q = question
    if m := re.search(r"renew(?:al year is| in) (\d{4})", q):
        return sum(a["year"] == int(m[1]) for a in agr.values())
    if m := re.search(r"different vendors have at least one (\w+) invoice", q):
        return len({i["vendor"] for i in inv.values() if i["status"] == m[1]})
    if m := re.search(r"How many invoices (?:are|have the status) (\w+)\?", q):
        return sum(i["status"] == m[1] for i in inv.values())
    if m := re.search(
        r"(?:in the|of the) (\w+) region(?:'s)? service agreements|agreements in the (\w+) region",
        q,
    ):
        region = m[1] or m[2]
        return sum(a["fee"] for a in agr.values() if a["region"] == region)
    if m := re.search(r"invoices from (.+)\?|How much has (.+) invoiced", q):
        vendor = m[1] or m[2]
        return sum(i["amount"] for i in inv.values() if i["vendor"] == vendor)
    if m := re.search(r"(?:single largest|highest-value) (?:(\w+) )?invoice", q):
        pool = [i for i in inv.values() if m[1] is None or i["status"] == m[1]]
        return max(pool, key=lambda i: i["amount"])["vendor"]
    if "region" in q and ("largest total" in q or "add up to the most" in q):
        totals: Counter[str] = Counter()
        for a in agr.values():
            totals[a["region"]] += a["fee"]
        return totals.most_common(1)[0][0]
    if m := re.search(r"agreement (SA-\d+)", q):
        return agr[m[1]]["fee"]
    if m := re.search(r"invoice (INV-\d+)", q):
        return inv[m[1]]["vendor"]
    if m := re.search(r"(?:above USD |greater than \$)([\d,]+)", q):
        return sorted(k for k, a in agr.items() if a["fee"] > money(m[1]))
    if "most invoices" in q or "largest number of invoices" in q:
        return Counter(i["vendor"] for i in inv.values()).most_common(1)[0][0]
    raise AssertionError(f"no independent computation for {q!r}")


@pytest.mark.parametrize("size", [*SIZES, 4_000_000])
def test_count_answers_match_an_independent_parse_of_the_corpus(size: int, tmp_path: Path) -> None:
    out, lines = written("count", size, 7, tmp_path)
    agr, inv = parse_records(corpus_text(out))
    assert len(agr) >= 6 and len(inv) >= 8
    graders = Counter(line["grader"] for line in lines)
    assert {"number", "exact", "set"} <= set(graders)
    for line in lines:
        assert answer_count(line["question"], agr, inv) == line["expected"], line


def test_count_every_kind_of_question_is_right(tmp_path: Path) -> None:
    out = tmp_path / "count-many"
    suite = make_suite("count", 256_000, 11, questions=33)
    write_suite(suite, out)
    agr, inv = parse_records(corpus_text(out))
    assert len(suite.questions) == 33
    kinds = set()
    for q in suite.questions:
        assert answer_count(q.question, agr, inv) == q.expected, q
        kinds.add(re.sub(r"[\d,]+|SA-\d+|INV-\d+", "#", q.question)[:25])
    assert len(kinds) >= 11  # counts, totals, maxima, lookups, lists, distinct vendors


def test_count_corpus_varies_its_layouts(tmp_path: Path) -> None:
    out, _ = written("count", 256_000, 1, tmp_path)
    text = corpus_text(out)
    assert re.search(r"^VENDOR: ", text, re.M) and re.search(r"^vendor: ", text, re.M)
    assert re.search(r"^Vendor: ", text, re.M)
    assert "| Agreement | Vendor |" in text and "| Invoice | Vendor |" in text
    assert " billed " in text and "was signed with" in text
    assert re.search(r"USD \d{1,3},\d{3}", text) and re.search(r"\$\d", text)
    assert re.search(r"\d USD", text)
    names = [p.name for p in (out / "corpus").iterdir()]
    assert any("report" in n for n in names) and any("invoice" in n for n in names)


# -- needles -----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_needle_answers_are_the_one_code_of_the_asked_team(size: int, tmp_path: Path) -> None:
    out, lines = written("needle", size, 3, tmp_path)
    text = corpus_text(out)
    for line in lines:
        team = re.search(r"(?:of|to) the (\w+ \w+) team|Find the (\w+ \w+) team", line["question"])
        name = team[1] or team[2]
        codes = re.findall(re.escape(name) + r" team(?:'s)?[^.]*? (?:is )?([a-z]+-\d{3})\.", text)
        assert codes == [line["expected"]], (name, codes)
        assert line["grader"] == "contains"


@pytest.mark.parametrize("size", SIZES)
def test_multi_needle_parts_are_found_in_three_places(size: int, tmp_path: Path) -> None:
    out, lines = written("multi-needle", size, 3, tmp_path)
    text = corpus_text(out)
    parts: dict[str, dict[str, tuple[str, int]]] = defaultdict(dict)
    for m in re.finditer(r"The (\w+) part of the ([\w-]+) passphrase is ([a-z]+-\d+)\.", text):
        parts[m[2]][m[1]] = (m[3], m.start())
    for m in re.finditer(r"Passphrase ([\w-]+), (\w+) part: ([a-z]+-\d+)\.", text):
        parts[m[1]][m[2]] = (m[3], m.start())
    for line in lines:
        project = re.match(r"The ([\w-]+) passphrase", line["question"])[1]
        found = parts[project]
        assert set(found) == {"first", "second", "third"}
        assert sorted(v for v, _ in found.values()) == sorted(line["expected"])
        assert line["grader"] == "set"
        positions = sorted(pos for _, pos in found.values())
        assert positions[2] - positions[0] > len(text) / 4  # far apart, not one paragraph


# -- pairs ---------------------------------------------------------------------------------------


def parse_participants(text: str) -> dict[str, dict]:
    people: dict[str, dict] = {}
    for m in re.finditer(
        r"participant (P-\d+)\ncity: (\w+)\njoined: (\d{4})\nteam: (\w+)\nplan: (\w+)", text, re.I
    ):
        people[m[1]] = dict(city=m[2], year=m[3], team=m[4], plan=m[5])
    for m in re.finditer(
        r"Participant (P-\d+) lives in (\w+), joined in (\d{4}) and plays for the (\w+) on the "
        r"(\w+) plan\.",
        text,
    ):
        people[m[1]] = dict(city=m[2], year=m[3], team=m[4], plan=m[5])
    for m in re.finditer(
        r"(P-\d+) \((\w+) plan\) joined the (\w+) in (\d{4}); home city: (\w+)\.", text
    ):
        people[m[1]] = dict(city=m[5], year=m[4], team=m[3], plan=m[2])
    for m in re.finditer(r"^\| (P-\d+) \| (\w+) \| (\d{4}) \| (\w+) \| (\w+) \|$", text, re.M):
        people[m[1]] = dict(city=m[2], year=m[3], team=m[4], plan=m[5])
    return {k: {a: v.lower() for a, v in d.items()} for k, d in people.items()}


@pytest.mark.parametrize("size", SIZES)
def test_pairs_are_every_pair_meeting_the_condition(size: int, tmp_path: Path) -> None:
    out, lines = written("pairs", size, 5, tmp_path)
    people = parse_participants(corpus_text(out))
    assert len(people) >= 24
    assert len(lines) >= 5
    for line in lines:
        q = line["question"]
        shared = [a for a, words in (("city", "same city"), ("team", "same team"),
                                     ("year", "same year")) if words in q]  # fmt: skip
        plan = re.search(r"on the (\w+) plan", q)
        pool = {k: p for k, p in people.items() if plan is None or p["plan"] == plan[1]}
        truth = sorted(
            sorted([a, b])
            for a, b in itertools.combinations(sorted(pool), 2)
            if all(pool[a][s] == pool[b][s] for s in shared)
        )
        assert len(shared) == 2 and truth and line["expected"] == truth, q


# -- pdf-page ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_pdf_page_reference_is_on_the_asked_page(size: int, tmp_path: Path) -> None:
    out, lines = written("pdf-page", size, 2, tmp_path)
    (doc,) = load_paths(out / "corpus").documents
    assert doc.kind == "pdf"
    pages = doc.text.split("\f")
    refs = [re.findall(r"Inspection reference for this page: (R-\d+)\.", p) for p in pages]
    assert all(len(r) == 1 for r in refs)
    assert 0.85 * size <= doc.chars <= 1.1 * size
    for line in lines:
        page = int(re.search(r"page (\d+)", line["question"], re.I)[1])
        assert refs[page - 1] == [line["expected"]]


# -- every kind --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_bytes_other_seed_other_suite(kind: str, tmp_path: Path) -> None:
    def files(seed: int, name: str) -> dict[str, bytes]:
        out = tmp_path / name
        write_suite(make_suite(kind, 20_000, seed), out)
        return {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    first, again, other = files(4, "a"), files(4, "b"), files(5, "c")
    assert first == again
    assert first["set.jsonl"] != other["set.jsonl"]


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "pdf-page"])
@pytest.mark.parametrize("size", [8_000, 4_000_000])
def test_text_corpus_is_about_the_size_asked(kind: str, size: int) -> None:
    suite = make_suite(kind, size, 1)
    assert 0.9 * size <= suite.chars <= size


def test_cli_make_writes_the_set_and_the_corpus(tmp_path: Path) -> None:
    out = tmp_path / "suite"
    cmd = [sys.executable, "-m", "rlm_cli", "eval", "make", "needle", "--size", "8000"]
    done = subprocess.run([*cmd, "--seed", "9", "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = (out / "set.jsonl").read_text().splitlines()
    assert len(lines) == 10 and json.loads(lines[0])["grader"] == "contains"
    assert json.loads((out / "suite.json").read_text())["seed"] == 9
    assert list((out / "corpus").iterdir())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["haystack", "--size", "8000"], "Unknown suite kind"),
        (["needle", "--size", "100"], "--size must be between"),
        (["needle", "--size", "8000", "--questions", "0"], "--questions"),
        (["needle"], "required"),
    ],
)
def test_cli_make_bad_usage_exits_2(args: list[str], message: str, tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "rlm_cli", "eval", "make", *args, "--out", str(tmp_path / "o")]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 2 and message in done.stderr
    assert not (tmp_path / "o").exists()
