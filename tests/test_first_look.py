"""The engine's first look for a small root model: real sandbox, real HTTP to the stand-in."""

from __future__ import annotations

from rlm_engine import first_look
from rlm_engine.events import CodeExecuted, GuardFired, RootResponse
from rlm_engine.root_call import SMALL_REPLY_TOKENS
from rlm_testkit.standin import StandIn
from tests.test_guards import DOCS, ROOT, ask, repl, small_config
from tests.test_repl_helpers import LEDGER


def test_specific_terms_are_names_codes_and_quotes() -> None:
    assert first_look.specific_terms("What is the total of invoice INV-18235?") == ["INV-18235"]
    assert first_look.specific_terms(
        "On what date does the agreement with Cedar & Vale Cleaning renew?"
    ) == ["Cedar & Vale Cleaning"]
    assert first_look.specific_terms("Which Copperfield Tools invoices are due in 2027?") == [
        "Copperfield Tools"
    ]  # "Which" is the question, 2027 a year: neither is searched
    assert first_look.specific_terms('Where is the "blue door" code?') == ["blue door"]
    assert first_look.specific_terms("Vault code?") == []  # a capital that is only grammar


def test_content_terms_are_stemmed_to_find_every_form() -> None:
    assert first_look.content_terms("How many agreements renew in 2027?") == [
        "agreement",
        "renew",
    ]
    assert first_look.stem("renewals") == "renewal" and first_look.stem("renewal") == "renew"
    assert first_look.stem("invoiced") == "invoic"  # finds invoice, invoices, INVOICED


def test_terms_absent_from_the_corpus_are_not_searched() -> None:
    docs = ["Service agreement with Juniper Energy. Renewal date: 2027-03-14."]
    assert first_look.look_terms("When does the Juniper Energy contract renew?", docs) == [
        "Juniper Energy"
    ]
    assert first_look.look_terms("How many contracts renew?", docs) == ["renew"]
    assert first_look.look_code("How many ships sail?", docs) is None


def test_a_lower_case_name_is_searched_as_a_phrase_before_its_words() -> None:
    """ "the slate walrus team" names one team; "access", "code" and "issued" match every team's
    sentence, and the three first words of the question were those."""
    docs = [
        "The access code issued to the slate puffin team is ember-1. " * 3
        + "Note for the olive walrus team: your access code is cedar-2. "
        + "Reminder: the slate walrus team's access code is glacier-828.",
    ]
    question = "Which access code was issued to the slate walrus team?"
    phrases = first_look.content_phrases("Find the teal lynx team's access code.")
    assert phrases[0] == "teal lynx team" and "access code" in phrases
    assert not any("team access" in p for p in phrases)  # the possessive ends the name
    terms = first_look.look_terms(question, docs)
    assert terms[0] == "slate walrus team"
    assert "walrus" not in terms[1:]  # inside the phrase: not searched again
    assert first_look.look_terms("How many contracts renew?", ["It renews."]) == ["renew"]


def test_small_root_model_starts_from_the_first_look(standin_env: StandIn) -> None:
    standin_env.enqueue("FINAL(2027-03-14)", model=ROOT)
    result, events = ask(
        "When does the agreement with Juniper Energy renew?", small_config(first_look=None)
    )
    # The look's output holds the date, so the answer is supported without a block of its own.
    assert (result.status, result.answer, result.unsupported) == ("completed", "2027-03-14", False)
    look = events.of(CodeExecuted)[0]
    assert look.iteration == 0 and "['Juniper Energy']" in look.code
    assert "Renewal date: 2027-03-14" in look.output
    first = standin_env.requests[0].messages[0]["content"]
    assert (
        "To start you off, the engine ran this block" in first
        and "Renewal date: 2027-03-14" in first
    )
    assert "the whole date, with its day, month and year" in first  # not "2027" alone
    assert "Strategy:" in first  # a search's look keeps the hint
    assert len(events.of(RootResponse)) == 1


def test_the_first_look_is_off_for_the_default_prompt(standin_env: StandIn) -> None:
    standin_env.enqueue(repl("print(context[0])"), "FINAL(2027-03-14)", model=ROOT)
    config = small_config(prompt_variant="default", first_look=None)
    result, events = ask("When does the agreement with Juniper Energy renew?", config)
    assert result.answer == "2027-03-14"
    assert [e.iteration for e in events.of(CodeExecuted)] == [1]
    assert (
        "To start you off, the engine ran this block"
        not in standin_env.requests[0].messages[0]["content"]
    )


def test_a_question_whose_words_are_nowhere_gets_no_look(standin_env: StandIn) -> None:
    standin_env.enqueue(repl("print(context[1])"), "FINAL(1,098,000)", model=ROOT)
    _, events = ask("How many ships sail?", small_config(first_look=True), DOCS)
    assert [e.iteration for e in events.of(CodeExecuted)] == [1]


def test_a_count_is_not_read_off_the_look(standin_env: StandIn) -> None:
    # The look shows a few matches; a count, a total or a maximum needs the model's own code.
    standin_env.enqueue(
        "FINAL(1)",
        repl("print(sum(1 for d in context if date_after(d, 'renew')))"),
        "FINAL(1)",
        model=ROOT,
    )
    result, events = ask("How many agreements are there?", small_config(first_look=None))
    assert (result.answer, result.iterations) == ("1", 3)
    assert [g.guard for g in events.of(GuardFired)] == ["final_before_code"]
    first = standin_env.requests[0].messages[0]["content"]
    assert "it is not the answer" in first
    assert (
        "the first look shows only a few matches" in standin_env.requests[1].messages[-1]["content"]
    )


def test_the_look_leaves_no_variables_behind(standin_env: StandIn) -> None:
    # The model's own code reuses names such as `docs`: the look must not have defined them.
    standin_env.enqueue(
        repl("print('left:', [n for n in ('docs', 'hits', 'term', '_first_look') if n in dir()])"),
        "FINAL(2027-03-14)",
        model=ROOT,
    )
    _, events = ask("How many agreements does Juniper Energy hold?", small_config(first_look=None))
    assert [e.iteration for e in events.of(CodeExecuted)] == [0, 1]
    assert "left: []" in events.of(CodeExecuted)[1].output


def test_the_tally_guess_tries_the_questions_words_against_the_documents() -> None:
    docs = [
        "SERVICE AGREEMENT with Juniper Energy. Renewal date: 2027-03-14. Annual value: USD 9,000.",
        "The agreement with Acme will renew on 4 May 2028. Its yearly value is $1,500.00.",
        "INVOICE INV-7 From: Acme. Total due: 300 USD.",
        "Invoice no. INV-8, issued by Acme on 2 March 2025. The amount payable is USD 200.",
        "Memo. Agreements were discussed last year. \n\nSection 2. Nothing changed.",
    ]
    guess = first_look.tally_guess
    assert guess("How many agreements renew in 2027?", docs) == "tally('renew', year=2027, show=0)"
    assert guess("What is the sum of the yearly values?", docs) == "tally('value')"
    # a name from the question is kept, and the noun that names records by their codes
    # ("INVOICE INV-7"); with none of the question's words before a value, the usual labels
    # are tried ("send" reads nothing, "total" reads both of Acme's invoices)
    assert guess("How many invoices did Acme send?", docs) == (
        "tally('total', keep='Acme invoic', show=0)"
    )
    assert guess("How many ships sail?", docs) is None  # nothing to read, nothing guessed
    # a register: each paragraph is a record, a name in the question keeps those that have it
    register = [
        "Register\n\nSA-1 with Kestrel, North region, annual fee USD 100.\n\n"
        "SA-2 with Orion, Northwind region, annual fee USD 200.\n\n"
        "SA-3 with Lumen, North region, annual fee USD 50."
    ]
    assert guess("What is the total fee of the North region?", register) == (
        "tally('fee', keep='North')"
    )
    # "which": only the largest row is printed, so no other row's name is there to pick
    assert guess("Which agreement has the highest value?", docs) == "tally('value', show=1)"
    # "name the ... with the highest" asks which as well (at 256k the model picked another row)
    assert guess("Name the agreement with the highest value.", docs) == "tally('value', show=1)"
    assert first_look.asks_for("Name the largest total.") == "total"  # a value, not a name


def test_a_list_above_a_bound_is_tallied_with_that_bound() -> None:
    assert first_look.bounds("Which agreements have a fee greater than $235,900?") == {
        "above": 235900.0
    }
    assert first_look.bounds("Invoices under EUR 2.5 million and over 300k") == {
        "below": 2_500_000.0,
        "above": 300_000.0,
    }
    assert first_look.bounds("Which contracts renew after 2027 or over 2028?") == {}  # years
    assert first_look.bounds("What is the fee under agreement SA-1?") == {}
    assert (
        first_look.tally_guess(
            "List the IDs of all service agreements with an annual fee above USD 3,500.", LEDGER
        )
        == "tally('fee', keep='agreement', above=3500)"
    )


def test_the_tally_guess_filters_on_a_fields_value_and_groups_by_a_field() -> None:
    guess = first_look.tally_guess
    # "overdue" is a field's value ("Status: overdue"), "invoice" names records by their codes;
    # "vendor" is a label, so no filter: a record in prose does not say it
    assert guess("How many invoices are overdue?", LEDGER) == (
        "tally('total', keep='invoic overdu', show=0)"
    )
    assert guess("Which vendor issued the largest paid invoice?", LEDGER) == (
        "tally('total', keep='paid invoic', show=1)"
    )
    # groups: by the field the question names after "which", ranked by total or by count
    assert guess("Which vendor has the most invoices?", LEDGER) == (
        "tally('total', keep='invoic', by='vendor', rank=\"count\", show=1)"
    )
    assert guess("Which region's annual fees add up to the most?", LEDGER) == (
        "tally('fee', by='region', show=1)"
    )
    assert guess("How many different vendors have an overdue invoice?", LEDGER) == (
        "tally('total', keep='overdu invoic', by='vendor', rank=\"count\", show=0)"
    )
    # "which invoice" names the records themselves (their values are codes): no groups
    assert "by=" not in (guess("Which invoice has the largest amount?", LEDGER) or "")


def test_a_count_read_by_the_engines_tally_is_answered_at_once(standin_env: StandIn) -> None:
    standin_env.enqueue("FINAL(1)", model=ROOT)
    result, events = ask("How many agreements renew in 2027?", small_config(first_look=None))
    assert (result.answer, result.iterations) == ("1", 1)
    look = events.of(CodeExecuted)[0]
    assert look.iteration == 0 and "tally('renew', year=2027, show=0)" in look.code
    assert "count: 1" in look.output
    first = standin_env.requests[0].messages[-1]["content"]
    assert "The engine read that value from every document" in first
    assert "Strategy:" not in first  # the engine read every document: no hint to search
    assert not events.of(GuardFired)


def test_a_small_models_reply_is_capped_and_a_large_ones_is_not(standin_env: StandIn) -> None:
    # The 1.5B model once repeated "41228, " until the time budget ended the run.
    question = "When does the agreement with Juniper Energy renew?"
    standin_env.enqueue("FINAL(2027-03-14)", model=ROOT)
    ask(question, small_config(first_look=True))
    small_calls = len(standin_env.requests)
    standin_env.enqueue("FINAL(2027-03-14)", model=ROOT)
    ask(question, small_config(prompt_variant="default"))
    capped = {r.max_tokens for r in standin_env.requests[:small_calls]}
    assert capped == {SMALL_REPLY_TOKENS}
    assert {r.max_tokens for r in standin_env.requests[small_calls:]} == {None}
