"""The REPL helpers (peek, tail, find, chunk, chunk_documents, ask, ask_chunks, ask_chunks_first,
pick_first_answer, extract_after) inside the real sandbox; the model-calling ones through a whole
run against the stand-in, so that budgets, events and costs are the real ones."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from rlm_engine.events import SubCallFinished, SubCallStarted
from rlm_engine.sandbox import Sandbox
from rlm_testkit.standin import Reply, StandIn
from tests.fixtures.sandbox import Recorder
from tests.test_loop import ROOT, SUB, ask, make_config, repl

DOCS = ["Alpha report. The code is 7431.", "Beta: nothing here.", "Gamma ends. CODE is 99."]


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(exec_timeout_s=30, output_limit_chars=20_000) as sandbox:
        sandbox.load_context(DOCS)
        yield sandbox


def value(box: Sandbox, expression: str, handler: Recorder | None = None) -> object:
    """The JSON value of `expression` evaluated in the REPL."""
    result = box.execute(f"import json\nprint(json.dumps({expression}))", handler or Recorder())
    assert result.error is None, result.output
    return json.loads(result.output)


def test_peek_and_tail_read_the_corpus_across_documents(box: Sandbox) -> None:
    joined = "\n\n".join(DOCS)
    assert value(box, "peek(40)") == joined[:40]
    assert value(box, "tail(10)") == joined[-10:]
    assert value(box, "peek()") == joined  # shorter than the default 2,000
    assert value(box, "tail(0)") == ""


def test_find_literal_gives_document_offset_and_snippet(box: Sandbox) -> None:
    matches = value(box, "find('code is', width=5)")
    assert [(m["doc"], m["offset"], m["match"]) for m in matches] == [
        (0, DOCS[0].index("code is"), "code is"),
        (2, DOCS[2].index("CODE is"), "CODE is"),  # case-insensitive
    ]
    start = DOCS[0].index("code is")
    assert matches[0]["snippet"] == DOCS[0][start - 5 : start + len("code is") + 5]
    assert value(box, "find('.')") and value(box, "find('a.c')") == []  # literal: . is a dot


def test_find_regex_and_document_boundaries(box: Sandbox) -> None:
    matches = value(box, r"find(r'\d{2,4}', regex=True)")
    assert [(m["doc"], m["match"]) for m in matches] == [(0, "7431"), (2, "99")]
    # a match never spans two documents: "7431." ends doc 0, "Beta" starts doc 1
    assert value(box, r"find(r'7431\.\s*Beta', regex=True)") == []
    assert len(value(box, "find('a', max_matches=2)")) == 2


def test_helpers_handle_unicode_offsets() -> None:
    docs = ["İstanbul café — naïve 東京 crème", "ZÜRICH ünd 東京"]
    with Sandbox(exec_timeout_s=30) as sandbox:
        sandbox.load_context(docs)
        matches = value(sandbox, "find('東京')")
        assert [(m["doc"], m["offset"]) for m in matches] == [
            (0, docs[0].index("東京")),
            (1, docs[1].index("東京")),
        ]
        assert value(sandbox, "[m['match'] for m in find('zürich')]") == ["ZÜRICH"]
        assert value(sandbox, "extract_after('naïve', 3)") == "東京"
        assert value(sandbox, "extract_after('CAFÉ')") == "— naïve 東京 crème"


def test_chunk_and_chunk_documents(box: Sandbox) -> None:
    joined = "\n\n".join(DOCS)
    chunks = value(box, "chunk(20)")
    assert "".join(chunks) == joined and all(len(c) <= 20 for c in chunks)
    overlapping = value(box, "chunk(20, overlap=5)")
    assert overlapping[1][:5] == overlapping[0][-5:]
    assert overlapping[-1].endswith(joined[-5:])
    assert value(box, "chunk_documents(2)") == ["\n\n".join(DOCS[:2]), DOCS[2]]
    bad = box.execute("chunk(10, overlap=10)", Recorder())
    assert bad.error is not None and "overlap < size" in bad.output
    assert "repl_helpers.py" not in bad.output  # the model sees its own frames only


def test_extract_after_reads_to_the_end_of_the_line(box: Sandbox) -> None:
    assert value(box, "extract_after('The code is')") == "7431."
    assert value(box, "extract_after('code is', max_len=3)") == "74"  # " 74" stripped
    assert value(box, "extract_after('absent')") is None


@pytest.mark.parametrize("empty", ["", []])
def test_helpers_on_an_empty_corpus(empty: str | list[str]) -> None:
    with Sandbox(exec_timeout_s=30) as sandbox:
        sandbox.load_context(empty)
        assert value(
            sandbox,
            "[peek(), tail(), find('x'), chunk(5), chunk_documents(1), extract_after('x')]",
        ) == ["", "", [], [], [] if empty == [] else [""], None]


def test_pick_first_answer_skips_non_answers(box: Sandbox) -> None:
    answers = ["NO_ANSWER", "", "Error: budget", "Not found in the snippet.", "7431", "99"]
    assert value(box, f"pick_first_answer({answers!r})") == "7431"
    assert value(box, "pick_first_answer(['NO_ANSWER.', 'I do not know'])") is None


def test_helpers_are_not_listed_as_variables(box: Sandbox) -> None:
    box.execute("mine = 1", Recorder())
    assert box.show_vars() == {"context": "list", "mine": "int"}
    # a helper's name the model takes for its own value is the model's variable
    box.execute("dates = ['2027-03-01']", Recorder())
    assert box.show_vars() == {"context": "list", "mine": "int", "dates": "list"}


# --- the helpers that call a model: through a real run ---------------------------------------
def sub_answers(request) -> str:  # the stand-in's sub model: answers only from a snippet
    return "7431" if "7431" in request.prompt else "NO_ANSWER"


def test_ask_chunks_are_sub_calls_in_order_counted_and_priced(standin_env: StandIn) -> None:
    standin_env.on(lambda req: Reply(sub_answers(req), input_tokens=100, output_tokens=10), SUB)
    standin_env.enqueue(
        repl("answers = ask_chunks('What is the code?', context)\nprint(answers)"),
        "FINAL_VAR(answers)",
        model=ROOT,
    )
    config = make_config(price_overrides={SUB: (1.0, 2.0), ROOT: (0.0, 0.0)})
    result, events = ask("What is the code?", DOCS, config)
    assert result.answer == "['7431', 'NO_ANSWER', 'NO_ANSWER']"
    assert result.sub_calls == 3
    prompts = [e.prompt for e in events.of(SubCallStarted)]
    assert sorted(prompts) == sorted(
        f"Question: What is the code?\nSnippet:\n{doc}" + prompts[0][prompts[0].index("\n\n") :]
        for doc in DOCS
    )
    assert result.cost_usd == pytest.approx(3 * (100 * 1.0 + 10 * 2.0) / 1e6)


def test_ask_and_ask_chunks_first_stop_at_the_answer(standin_env: StandIn) -> None:
    standin_env.on(lambda req: sub_answers(req), SUB)
    chunks = ["nothing"] * 5 + ["The code is 7431."] + ["more"] * 6  # the answer in batch 2
    code = f"first = ask_chunks_first('Code?', {chunks!r})\none = ask('Code?', 'x')\n"
    standin_env.enqueue(repl(code + "print(first, one)"), "FINAL_VAR(first)", model=ROOT)
    result, events = ask("Code?", "ctx")
    assert result.answer == "7431"
    assert result.sub_calls == 8 + 1  # two batches of 4, then ask
    assert all(e.error is None for e in events.of(SubCallFinished))


def test_model_calling_helpers_are_refused_past_the_sub_call_budget(
    standin_env: StandIn,
) -> None:
    from rlm_engine import Budgets

    standin_env.on(lambda req: "7431", SUB)
    standin_env.enqueue(
        repl("answers = ask_chunks('Code?', ['a', 'b', 'c'])\nprint(answers)"),
        repl("try:\n    ask('Code?', 'd')\nexcept RuntimeError as exc:\n    print('refused', exc)"),
        "FINAL(done)",
        model=ROOT,
    )
    result, events = ask("Code?", "ctx", make_config(budgets=Budgets(max_sub_calls=2)))
    assert result.sub_calls == 2
    outputs = [e.output for e in events.events if e.type == "code_executed"]
    assert outputs[0].count("'7431'") == 2 and "max_sub_calls" in outputs[0]
    assert outputs[1].startswith("refused") and "max_sub_calls" in outputs[1]


LAYOUTS = [
    "SERVICE AGREEMENT\nRenewal date: 4 February 2028\nAnnual contract value: USD 476,500",
    "The agreement will renew on July 8, 2027. Its yearly value is $55,000.00, paid quarterly.",
    "| Renews on | 2027-04-10 |\n| Value per year | 355,000 USD |\n| Notice | 90 days |",
    "Invoice INV-91542 of 17 Dec 2025 covers 1 item. The amount payable is 5,820 USD.",
]


def test_value_helpers_read_every_layout_of_a_date_and_an_amount() -> None:
    with Sandbox(exec_timeout_s=30) as box:
        box.load_context(LAYOUTS)
        assert value(box, "[date_after(d, r'renew') for d in context]") == [
            "2028-02-04",
            "2027-07-08",
            "2027-04-10",
            None,
        ]
        assert value(box, "[number_after(d, r'value') for d in context]") == [
            476500.0,
            55000.0,
            355000.0,
            None,
        ]
        # dates and codes are not numbers; a date cut to a month's three letters is a date
        assert value(box, "numbers(context[3])") == [1.0, 5820.0]
        assert value(box, "dates(context[3])") == ["2025-12-17"]
        # month 13 and 31 February are no dates
        assert value(box, "dates('2027-13-01, 31 Feb 2027, Sept 3, 2026')") == ["2026-09-03"]
        assert value(box, "number_after('Total: see below', 'total', within=5)") is None


TALLY_DOCS = [
    *LAYOUTS,
    "INVOICE INV-20001\nFrom: Kestrel Tools\nTotal due: $1,000.00",
    "Memo. Costs rose compared with last year. \n\nSection 2. Training hours rose.",
]


def tally(box: Sandbox, call: str) -> tuple[list, str]:
    """The rows `call` returns (as JSON) and what it printed."""
    result = box.execute(f"import json\nrows = {call}\nprint(json.dumps(rows))", Recorder())
    assert result.error is None, result.output
    printed, _, rows = result.output.rstrip("\n").rpartition("\n")
    return json.loads(rows), printed


def test_tally_reads_one_value_from_every_layout_and_prints_the_sums() -> None:
    with Sandbox(exec_timeout_s=30) as box:
        box.load_context(TALLY_DOCS)
        # "yearly value": the value after "value", whatever the layout calls the year; the
        # memo's "last year. Section 2" is no value (another sentence)
        rows, printed = tally(box, 'tally("yearly value")')
        assert rows == [[0, 476500.0], [1, 55000.0], [2, 355000.0]]
        assert "count: 3" in printed and "total: 886,500" in printed
        assert "largest: 476,500 in context[0]: SERVICE AGREEMENT" in printed
        # "total" also reads "amount payable"; `keep` keeps the documents naming a vendor
        rows, printed = tally(box, 'tally("total", keep="invoice")')
        assert rows == [[3, 5820.0], [4, 1000.0]]
        assert "| INV-91542 |" in printed and "| INV-20001 |" in printed
        rows, _ = tally(box, 'tally("total", keep="Kestrel Tools")')
        assert rows == [[4, 1000.0]]
        # rows of numbers are printed largest first; `show` prints fewer, all are returned
        rows, printed = tally(box, 'tally("yearly value", show=1)')
        assert len(rows) == 3 and printed.count("  context[") == 1
        assert "  context[0]: 476,500" in printed and "... and 2 more rows" in printed
        rows, printed = tally(box, 'tally("yearly value", show=0)')  # the count alone
        assert len(rows) == 3 and printed.splitlines()[1:] == ["count: 3"]


def test_tally_counts_dates_by_year_and_keeps_one_year() -> None:
    with Sandbox(exec_timeout_s=30) as box:
        box.load_context(TALLY_DOCS)
        rows, printed = tally(box, 'tally("renew", kind="date")')
        assert rows == [[0, "2028-02-04"], [1, "2027-07-08"], [2, "2027-04-10"]]
        assert "by year: 2027: 2, 2028: 1" in printed
        rows, printed = tally(box, 'tally("renewal", kind="date", year=2027)')
        assert [i for i, _ in rows] == [1, 2] and "count: 2" in printed
        assert "(1 more with a value not in 2027)" in printed
        # left to itself, tally reads whichever comes first, and a year given as `keep` (what a
        # small model writes) keeps that year's dates
        assert tally(box, 'tally("renew")')[0] == [[0, "2028-02-04"], *rows]
        auto, printed = tally(box, 'tally("renew", keep="2027")')
        assert auto == rows and "count: 2" in printed
        mixed, printed = tally(box, 'tally("renew|total")')
        assert mixed[0] == [0, "2028-02-04"] and mixed[-1] == [4, 1000.0]


def test_tally_says_what_it_could_not_read() -> None:
    with Sandbox(exec_timeout_s=30) as box:
        box.load_context(TALLY_DOCS)
        rows, printed = tally(box, 'tally("weight", keep="agreement")')
        assert rows == [] and "Nothing matched" in printed
        assert "have no value after 'weight', e.g. context[0]" in printed
        result = box.execute('tally("total", kind="text")', Recorder())
        assert result.error is not None and 'kind="number"' in result.output
    with Sandbox(exec_timeout_s=30) as box:
        box.load_context([])
        assert tally(box, 'tally("total")')[0] == []


def test_tally_reads_each_record_of_a_register_and_each_row_of_a_table() -> None:
    register = (
        "Agreements register\n\n"
        "| Agreement | Vendor | Region | Annual fee (USD) | Renewal year |\n"
        "|---|---|---|---|---|\n"
        "| SA-1 | Kestrel | North | 100,000 | 2028 |\n"
        "| SA-2 | Orion | Northwind | 200,000 | 2027 |\n\n"
        "Under agreement SA-3, Lumen serves the North region at an annual fee of USD 50,000; "
        "it renews in 2028.\n"
    )
    with Sandbox(exec_timeout_s=30) as box:
        box.load_context([register, "Memo. Nothing to count."])
        rows, printed = tally(box, 'tally("fee", keep="North")')
        assert rows == [[0, 100000.0], [0, 50000.0]]  # not Northwind's row
        assert "total: 150,000" in printed and "| SA-1 |" in printed
        rows, _ = tally(box, 'tally("renewal", year=2028)')  # a year as a number is that year
        assert [v for _, v in rows] == [2028.0, 2028.0]


LEDGER = [
    "Invoice ledger\n\n"
    "Invoice INV-101\nVendor: Harbor Foods\nAmount: USD 1,200\nStatus: overdue\n\n"
    "| Invoice | Vendor | Amount (USD) | Status |\n|---|---|---|---|\n"
    "| INV-102 | Kestrel Tools | 800 | paid |\n| INV-103 | Harbor Foods | 300 | paid |\n\n"
    "Invoice INV-104 from Kestrel Tools for $2,500 was issued in May and is overdue.\n\n"
    "Lumen Print billed 90 USD on invoice INV-105; status: pending.",
    "Agreements\n\nService agreement SA-1 with Harbor Foods for the North region carries an "
    "annual fee of $9,000.\n\nAgreement SA-2\nVendor: Kestrel Tools\nRegion: South\n"
    "Annual fee: USD 4,000\n\nAgreement SA-3\nVendor: Lumen Print\nRegion: South\n"
    "Annual fee: USD 1,000",
]


def test_tally_reads_a_sum_marked_as_money_in_a_record_written_in_prose() -> None:
    with Sandbox(exec_timeout_s=30) as box:
        box.load_context(LEDGER)
        # the prose invoices have no "amount" before their sums: their money mark is read,
        # among the records `keep` picks (the agreements' fees are not invoices)
        rows, printed = tally(box, 'tally("amount", keep="invoice")')
        assert sorted(v for _, v in rows) == [90.0, 300.0, 800.0, 1200.0, 2500.0]
        assert "total: 4,890" in printed
        rows, _ = tally(box, 'tally("amount", keep="invoice overdue")')  # every word of keep
        assert sorted(v for _, v in rows) == [1200.0, 2500.0]
        # without a filter only labelled sums are read: every sum of every kind would be added
        rows, _ = tally(box, 'tally("amount")')
        assert sorted(v for _, v in rows) == [300.0, 800.0, 1200.0]


def test_tally_by_a_field_groups_the_records_and_ranks_the_groups() -> None:
    with Sandbox(exec_timeout_s=30) as box:
        box.load_context(LEDGER)
        # the groups are the values after "Region:"; a record in prose joins the one it names
        rows, printed = tally(box, 'tally("fee", keep="agreement", by="region")')
        assert rows == [["North", 1, 9000.0], ["South", 2, 5000.0]]
        assert "count: 2 different values of 'region'" in printed
        assert printed.splitlines()[2] == "  North: total 9,000 in 1 record"
        # by count: Harbor Foods and Kestrel Tools have two invoices each, Lumen Print one
        # (named in prose only, by its first capitalised words)
        rows, printed = tally(box, 'tally("amount", keep="invoice", by="vendor", rank="count")')
        assert [(g, n) for g, n, _ in rows] == [
            ("Kestrel Tools", 2),
            ("Harbor Foods", 2),
            ("Lumen Print", 1),
        ]
        assert "count: 3 different values of 'vendor'" in printed
        rows, printed = tally(box, 'tally("amount", keep="invoice", by="vendor", show=1)')
        assert rows[0] == ["Kestrel Tools", 2, 3300.0] and "... and 2 more groups" in printed
        result = box.execute('tally("amount", by="vendor", rank="size")', Recorder())
        assert result.error is not None and 'rank="count"' in result.output


def test_tally_keeps_the_records_above_or_below_a_bound() -> None:
    with Sandbox(exec_timeout_s=30) as box:
        box.load_context(LEDGER)
        rows, printed = tally(box, 'tally("fee", keep="agreement", above=3500)')
        assert sorted(v for _, v in rows) == [4000.0, 9000.0]  # not SA-3's 1,000
        assert "| SA-1 |" in printed and "| SA-2 |" in printed and "| SA-3 |" not in printed
        assert "above 3,500" in printed and "(1 more with a value not above 3,500)" in printed
        rows, _ = tally(box, 'tally("fee", keep="agreement", above=500, below=4000)')
        assert [v for _, v in rows] == [1000.0]  # strictly between: 4,000 is not below 4,000


def test_find_can_give_the_record_that_holds_a_match() -> None:
    """A table row comes with its header's labels, a form with its paragraph; a long paragraph
    of prose still gives the window around the match."""
    prose = "Filler words about the weather. " * 40 + "The Zürich code is ember-1. " + "More. " * 40
    with Sandbox(exec_timeout_s=30) as box:
        box.load_context([*LEDGER, prose])
        row = value(box, "find('INV-103', record=True)[0]['snippet']")
        assert row == "Invoice: INV-103; Vendor: Harbor Foods; Amount (USD): 300; Status: paid"
        form = value(box, "find('SA-2', record=True)[0]['snippet']")
        assert form.startswith("Agreement SA-2\nVendor: Kestrel Tools") and "SA-3" not in form
        assert "SA-1" not in form and form.endswith("Annual fee: USD 4,000")
        window = value(box, "find('zürich', width=20, record=True)[0]['snippet']")
        assert window == prose[prose.index("Zürich") - 20 : prose.index("Zürich") + 26]
        plain = value(box, "find('INV-103', width=10)[0]['snippet']")
        assert plain == " paid |\n| INV-103 | Harbor "  # the default is unchanged
