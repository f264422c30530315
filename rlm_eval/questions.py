"""Question sets: one question per JSONL line (or CSV row), validated with the line named.

A line: {"question": str, "expected": str | number | list, "grader": "exact" | "contains" |
"number" | "regex" | "set" | "judge", "id": str (optional), "tolerance": number (optional)}.
Extensions: "rel_tolerance" (number grader: a fraction of the expected value) and "threshold"
(set grader: the F1 that passes, default 1). Unknown keys are an error, so a typo is not ignored.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from rlm_eval.graders import GRADERS
from rlm_eval.numbers import parse_number

KEYS = ("id", "question", "expected", "grader", "tolerance", "rel_tolerance", "threshold")
CSV_COLUMNS = KEYS


class SetError(ValueError):
    """A bad line of a question set; `line` is 1-based (0: the set as a whole)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


@dataclass(frozen=True)
class Question:
    """One line of a set: what is asked, the expected answer, and how it is graded."""

    id: str
    question: str
    expected: Any
    grader: str
    tolerance: float | None = None
    rel_tolerance: float | None = None
    threshold: float | None = None

    def to_json(self) -> dict[str, Any]:
        line: dict[str, Any] = {
            "id": self.id,
            "question": self.question,
            "expected": self.expected,
            "grader": self.grader,
        }
        for key in ("tolerance", "rel_tolerance", "threshold"):
            if getattr(self, key) is not None:
                line[key] = getattr(self, key)
        return line

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Question:
        return cls(**{k: data.get(k) for k in KEYS})


def _number_field(data: dict[str, Any], key: str, line: int, high: float | None) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SetError(line, f'"{key}" must be a number, not {value!r}')
    if value < 0 or (high is not None and value > high):
        top = f" and at most {high:g}" if high is not None else ""
        raise SetError(line, f'"{key}" must be 0 or more{top}, not {value!r}')
    return float(value)


def validate(data: Any, line: int, default_id: str) -> Question:
    """One parsed line as a Question, or SetError saying what is wrong with it."""
    if not isinstance(data, dict):
        raise SetError(line, "expected a JSON object")
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise SetError(line, f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(KEYS)}")
    question = data.get("question")
    if not isinstance(question, str) or not question.strip():
        raise SetError(line, '"question" must be a non-empty string')
    if "expected" not in data or data["expected"] is None:
        raise SetError(line, '"expected" is missing')
    expected = data["expected"]
    if isinstance(expected, bool) or not isinstance(expected, str | int | float | list):
        raise SetError(line, '"expected" must be a string, a number or a list')
    grader = data.get("grader")
    if grader not in GRADERS:
        raise SetError(line, f'"grader" must be one of {", ".join(GRADERS)}, not {grader!r}')
    if grader == "number" and parse_number(expected) is None:
        raise SetError(line, f"the number grader needs one number as expected, not {expected!r}")
    if grader == "regex":
        try:
            re.compile(str(expected))
        except re.error as exc:
            raise SetError(line, f"bad regular expression {expected!r}: {exc}") from None
    if grader == "set" and isinstance(expected, list) and not expected:
        raise SetError(line, "the set grader needs at least one expected item")
    if grader != "set" and isinstance(expected, list):
        raise SetError(line, f"a list is expected only by the set grader, not by {grader}")
    qid = data.get("id", default_id)
    if not isinstance(qid, str | int) or isinstance(qid, bool) or not str(qid).strip():
        raise SetError(line, '"id" must be a non-empty string')
    return Question(
        str(qid).strip(),
        question.strip(),
        expected,
        grader,
        _number_field(data, "tolerance", line, None),
        _number_field(data, "rel_tolerance", line, None),
        _number_field(data, "threshold", line, 1.0),
    )


def _unique(questions: list[Question], lines: list[int]) -> list[Question]:
    seen: dict[str, int] = {}
    for question, line in zip(questions, lines, strict=True):
        if question.id in seen:
            raise SetError(
                line, f'id "{question.id}" is used again (first on line {seen[question.id]})'
            )
        seen[question.id] = line
    if not questions:
        raise SetError(0, "the set holds no question")
    return questions


def parse_jsonl(text: str) -> list[Question]:
    """A JSONL set; blank lines are skipped; the first bad line raises SetError."""
    questions: list[Question] = []
    lines: list[int] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SetError(number, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
        questions.append(validate(data, number, f"q{len(questions) + 1:03d}"))
        lines.append(number)
    return _unique(questions, lines)


def _cell(column: str, value: str) -> Any:
    value = value.strip()
    if column == "expected" and value.startswith("["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if column in ("tolerance", "rel_tolerance", "threshold"):
        if not value:
            return None
        try:
            return float(value)
        except ValueError:
            return value  # validate() names it
    return value if value or column == "expected" else None


def _literal(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+\.\d+", value.strip()):
        return float(value)
    return value


def parse_csv(text: str) -> list[Question]:
    """A CSV set with a header row naming the columns (id, question, expected, grader, ...)."""
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "question" not in reader.fieldnames:
        raise SetError(1, "the header row must name the columns: question, expected, grader, ...")
    questions: list[Question] = []
    lines: list[int] = []
    for row in reader:
        number = reader.line_num
        data = {k: _cell(k, v or "") for k, v in row.items() if k is not None}
        data = {k: v for k, v in data.items() if v is not None}
        if None in row:
            raise SetError(number, "more cells than columns")
        if data.get("grader") == "number":  # a plain literal round-trips as a number
            data["expected"] = _literal(data.get("expected"))
        questions.append(validate(data, number, f"q{len(questions) + 1:03d}"))
        lines.append(number)
    return _unique(questions, lines)


def parse_set(text: str, name: str = "") -> list[Question]:
    """JSONL or CSV, told apart by the file name's extension (else by the first character)."""
    if name.lower().endswith(".csv") or (not name and not text.lstrip().startswith("{")):
        return parse_csv(text)
    return parse_jsonl(text)


def to_jsonl(questions: list[Question]) -> str:
    return "".join(json.dumps(q.to_json(), ensure_ascii=False) + "\n" for q in questions)


def to_csv(questions: list[Question]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for q in questions:
        row = q.to_json()
        if isinstance(row["expected"], list):
            row["expected"] = json.dumps(row["expected"], ensure_ascii=False)
        writer.writerow(row)
    return out.getvalue()
