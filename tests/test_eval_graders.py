"""Graders and question sets: edge cases of each grader, the judge over real HTTP, JSONL/CSV."""

from __future__ import annotations

import json

import pytest

from rlm_engine.config import Credentials, ModelSpec
from rlm_engine.providers import make_provider
from rlm_eval.graders import grade, normalise
from rlm_eval.judge import judge, parse_verdict
from rlm_eval.numbers import find_numbers, parse_number
from rlm_eval.questions import SetError, parse_csv, parse_jsonl, parse_set, to_csv, to_jsonl
from rlm_testkit.standin import Reply, StandIn

# -- exact / contains / regex --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected", "passed"),
    [
        ("  northwind LOGISTICS. ", "Northwind Logistics", True),
        ('"Northwind Logistics"', "Northwind Logistics", True),
        ("Northwind  Logistics!", "northwind logistics", True),
        ("Café Zürich", "cafe zurich", True),
        ("Northwind Logistics Ltd", "Northwind Logistics", False),
        ("The vendor is Northwind Logistics", "Northwind Logistics", False),
        ("42", 42, True),
        ("", "x", False),
    ],
)
def test_exact(answer: str, expected: object, passed: bool) -> None:
    assert grade("exact", answer, expected).passed is passed


@pytest.mark.parametrize(
    ("answer", "expected", "passed"),
    [
        ("The code is maple-417.", "maple-417", True),
        ("THE CODE IS MAPLE-417", "maple-417", True),
        ("The code is maple-4170.", "maple-417", False),  # whole words only
        ("The code is amaple-417", "maple-417", False),
        ("West", "West", True),
        ("Northwest", "West", False),
    ],
)
def test_contains(answer: str, expected: str, passed: bool) -> None:
    assert grade("contains", answer, expected).passed is passed


def test_regex_is_searched_case_insensitively() -> None:
    assert grade("regex", "Reference: R-12345.", r"R-\d{5}\b").passed
    assert grade("regex", "reference r-12345", r"R-\d{5}").passed
    assert not grade("regex", "Reference: R-1234", r"R-\d{5}").passed


def test_no_answer_fails_every_grader_with_a_reason() -> None:
    for grader, expected in [("exact", "a"), ("number", 1), ("set", ["a"]), ("regex", "a")]:
        result = grade(grader, None, expected)
        assert not result.passed and result.detail["error"] == "no answer"


# -- numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1,098,000", 1_098_000),
        ("1.098 million", 1_098_000),
        ("USD 1098000", 1_098_000),
        ("$1,098,000.00", 1_098_000),
        ("1098000 USD", 1_098_000),
        ("$48.2k", 48_200),
        ("2.5bn", 2_500_000_000),
        ("-7", -7),
        ("12%", 12),
        ("twenty-one", 21),
        ("seven", 7),
    ],
)
def test_numbers_parse_as_people_write_them(text: str, value: float) -> None:
    assert parse_number(text) == pytest.approx(value)


def test_ids_and_several_numbers() -> None:
    assert find_numbers("invoice INV-27899 and agreement SA-4213") == []
    assert find_numbers("in 2027 there are 3 agreements") == [2027, 3]
    assert parse_number("between 3 and 4") is None  # not one number


@pytest.mark.parametrize(
    ("answer", "expected", "options", "passed"),
    [
        ("The total is $1,098,000.", 1098000, {}, True),
        ("About 1.098 million dollars", "1,098,000", {}, True),
        ("USD 1098000", 1098000.0, {}, True),
        ("1,098,001", 1098000, {}, False),
        ("1,098,001", 1098000, {"tolerance": 1}, True),
        ("1,100,000", 1098000, {"rel_tolerance": 0.01}, True),
        ("1,200,000", 1098000, {"rel_tolerance": 0.01}, False),
        ("There are 3 agreements renewing in 2027.", 3, {}, True),
        ("There are three.", 3, {}, True),
        ("No number here", 3, {}, False),
        ("3.5 m", 3, {}, False),
    ],
)
def test_number(answer: str, expected: object, options: dict, passed: bool) -> None:
    assert grade("number", answer, expected, **options).passed is passed


# -- sets ---------------------------------------------------------------------------------------


def test_set_list_in_prose_is_complete() -> None:
    result = grade("set", "The vendors are Acme, Beta and Gamma.", ["Acme", "Beta", "Gamma"])
    assert result.passed and result.detail["f1"] == 1.0


def test_set_bullets_with_a_heading_line() -> None:
    answer = "The agreements are:\n- SA-1\n- SA-2\n3. SA-3"
    assert grade("set", answer, ["SA-1", "SA-2", "SA-3"]).passed


def test_set_precision_recall_f1() -> None:
    result = grade("set", "SA-1, SA-2, SA-9, SA-8", ["SA-1", "SA-2", "SA-3"])
    assert result.detail["precision"] == 0.5
    assert result.detail["recall"] == pytest.approx(2 / 3, abs=1e-4)
    assert result.score == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3), abs=1e-4)
    assert not result.passed and result.detail["missing"] == ["SA-3"]


def test_set_threshold_lets_a_near_miss_pass() -> None:
    answer = "SA-1, SA-2, SA-3"
    assert not grade("set", answer, ["SA-1", "SA-2", "SA-3", "SA-4"]).passed
    assert grade("set", answer, ["SA-1", "SA-2", "SA-3", "SA-4"], threshold=0.8).passed


@pytest.mark.parametrize(
    "answer",
    [
        "(P-2, P-1)\n(P-3, P-4)",
        "(P-1, P-2), (P-4, P-3)",
        "P-1 and P-2\nP-3 and P-4",
        "Pairs:\n1. P-1 & P-2\n2. P-4 & P-3",
    ],
)
def test_set_of_pairs_is_unordered(answer: str) -> None:
    assert grade("set", answer, [["P-1", "P-2"], ["P-3", "P-4"]]).passed


def test_set_of_pairs_split_across_lines_is_not_a_pair() -> None:
    result = grade("set", "P-1\nP-2\nP-3\nP-4", [["P-1", "P-2"], ["P-3", "P-4"]])
    assert not result.passed and result.detail["recall"] == 0


def test_normalise() -> None:
    assert normalise("  Hello,   WORLD!  ") == "hello world"


# -- judge --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ('{"verdict": "correct", "reasoning": "Same number."}', True),
        ('Sure. {"verdict": "incorrect", "reasoning": "Wrong vendor."} Done', False),
        ("Verdict: INCORRECT\nThe answer names another vendor.", False),
        ("VERDICT: correct", True),
        ("**Verdict:** pass", True),
        ("Incorrect", False),
        ("correct", True),
        ("It is hard to say whether this is correct or incorrect.", None),
        ("", None),
    ],
)
def test_judge_verdict_parsing(reply: str, verdict: bool | None) -> None:
    assert parse_verdict(reply)[0] is verdict


def _judge_provider(standin: StandIn) -> tuple:
    spec = ModelSpec("openai", "gpt-4.1-mini", standin.openai_base_url)
    return make_provider(spec, Credentials(openai_api_key="test-key"), max_retries=0), spec


def test_judge_records_verdict_reasoning_and_cost(standin: StandIn) -> None:
    standin.enqueue(
        Reply('{"verdict": "correct", "reasoning": "Both say 3."}', output_tokens=12),
        model="gpt-4.1-mini",
    )
    provider, spec = _judge_provider(standin)
    result = judge(provider, spec, "How many?", 3, "There are three.")
    assert result.passed and result.score == 1
    assert result.detail["verdict"] == "correct"
    assert result.detail["reasoning"] == "Both say 3."
    assert result.detail["output_tokens"] == 12 and result.detail["cost_usd"] > 0
    (request,) = standin.requests
    assert "EXPECTED:\n3" in request.prompt and "There are three." in request.prompt


def test_judge_unreadable_or_failed_is_a_failed_grade_that_says_why(standin: StandIn) -> None:
    provider, spec = _judge_provider(standin)
    standin.enqueue("I am not sure.")
    unreadable = judge(provider, spec, "Q?", "a", "b")
    assert not unreadable.passed and "could not be read" in unreadable.detail["error"]
    standin.fail(400, message="bad request")
    failed = judge(provider, spec, "Q?", "a", "b")
    assert not failed.passed and failed.detail["error"].startswith("judge call failed")


# -- question sets ------------------------------------------------------------------------------


GOOD = [
    {"question": "How many?", "expected": 3, "grader": "number", "tolerance": 0.5},
    {"id": "b", "question": "Who?", "expected": "Acme", "grader": "exact"},
    {"question": "Which?", "expected": ["x", "y"], "grader": "set", "threshold": 0.5},
    {"question": "Pairs?", "expected": [["P-1", "P-2"]], "grader": "set"},
    {"question": "Total?", "expected": "1,098,000", "grader": "number", "rel_tolerance": 0.01},
]


def test_jsonl_round_trip_and_default_ids() -> None:
    text = "\n".join(json.dumps(line) for line in GOOD) + "\n\n"
    questions = parse_jsonl(text)
    assert [q.id for q in questions] == ["q001", "b", "q003", "q004", "q005"]
    assert parse_jsonl(to_jsonl(questions)) == questions


def test_csv_round_trip_keeps_types() -> None:
    questions = parse_jsonl("\n".join(json.dumps(line) for line in GOOD))
    again = parse_csv(to_csv(questions))
    assert again == questions
    assert again[0].expected == 3 and again[3].expected == [["P-1", "P-2"]]
    assert parse_set(to_csv(questions), "set.csv") == questions


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["a"]', "expected a JSON object"),
        ('{"question": "", "expected": "a", "grader": "exact"}', '"question"'),
        ('{"question": "Q", "grader": "exact"}', '"expected" is missing'),
        ('{"question": "Q", "expected": "a", "grader": "fuzzy"}', '"grader" must be one of'),
        ('{"question": "Q", "expected": "lots", "grader": "number"}', "needs one number"),
        ('{"question": "Q", "expected": "([", "grader": "regex"}', "bad regular expression"),
        ('{"question": "Q", "expected": [], "grader": "set"}', "at least one"),
        ('{"question": "Q", "expected": ["a"], "grader": "exact"}', "only by the set grader"),
        ('{"question": "Q", "expected": 1, "grader": "number", "tolerance": -1}', "0 or more"),
        ('{"question": "Q", "expected": "a", "grader": "exact", "tolerence": 1}', "unknown key"),
        ('{"question": "Q", "expected": "a", "grader": "exact", "id": "q001"}', "used again"),
    ],
)
def test_bad_line_is_named_by_its_number(line: str, message: str) -> None:
    text = json.dumps(GOOD[1]) + "\n\n" + line + "\n"
    if "used again" in message:
        text = json.dumps({**GOOD[1], "id": "q001"}) + "\n\n" + line + "\n"
    with pytest.raises(SetError) as caught:
        parse_jsonl(text)
    assert caught.value.line == 3 and str(caught.value).startswith("line 3: ")
    assert message in str(caught.value)


def test_empty_set_and_bad_csv() -> None:
    with pytest.raises(SetError, match="no question"):
        parse_jsonl("\n\n")
    with pytest.raises(SetError, match="line 3"):
        parse_csv("question,expected,grader\nQ,1,number\nQ2,x,number\n")
