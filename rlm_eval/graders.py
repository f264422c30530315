"""Graders: is an answer right, given the expected one?

- `exact`: equal after normalising case, spaces and punctuation.
- `contains`: the expected text appears in the answer (whole words, normalised).
- `number`: some number in the answer equals the expected one within `tolerance` (absolute) or
  `rel_tolerance` (a fraction of the expected value); see rlm_eval.numbers for what parses.
- `regex`: the pattern (case-insensitive) matches somewhere in the answer.
- `set`: the answer lists items; precision, recall and F1 against the expected list; passes at
  F1 >= `threshold` (default 1). An expected item that is a list (a pair) is unordered and found
  when all its parts are in one line (or one parenthesised group) of the answer.
- `judge`: a judge model decides (rlm_eval.judge); graded there, not here.

Every grader returns a `Grade` (passed, score in [0, 1], details for the record).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from rlm_eval.numbers import find_numbers, parse_number

GRADERS = ("exact", "contains", "number", "regex", "set", "judge")


@dataclass(frozen=True)
class Grade:
    passed: bool
    score: float
    detail: dict[str, Any] = field(default_factory=dict)


def normalise(text: str) -> str:
    """Lower case, accents and punctuation removed, runs of spaces as one."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = re.sub(r"[^\w\s]|_", " ", text)
    return " ".join(text.split())


def exact(answer: str, expected: Any) -> Grade:
    ok = normalise(answer) == normalise(_text(expected))
    return Grade(ok, float(ok))


def contains(answer: str, expected: Any) -> Grade:
    needle = normalise(_text(expected))
    ok = bool(needle) and f" {needle} " in f" {normalise(answer)} "
    return Grade(ok, float(ok))


def number(
    answer: str, expected: Any, tolerance: float | None = None, rel_tolerance: float | None = None
) -> Grade:
    target = parse_number(expected)
    if target is None:
        return Grade(False, 0.0, {"error": f"expected value {expected!r} is not one number"})
    allowed = max(
        tolerance or 0.0, (rel_tolerance or 0.0) * abs(target), 1e-9 * max(1, abs(target))
    )
    found = find_numbers(answer)
    hit = next((value for value in found if abs(value - target) <= allowed), None)
    detail: dict[str, Any] = {"expected_value": target, "numbers_in_answer": found[:20]}
    if hit is not None:
        detail["matched"] = hit
    return Grade(hit is not None, float(hit is not None), detail)


def regex(answer: str, expected: Any) -> Grade:
    ok = re.search(_text(expected), answer, re.IGNORECASE) is not None
    return Grade(ok, float(ok))


_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)]|\(\w\))\s+")


def _segments(answer: str, by_groups: bool) -> list[str]:
    """The answer cut into items: lines, then `;`, then (for plain items) commas and "and";
    for pair items, parenthesised groups when there are any."""
    if by_groups:
        groups = re.findall(r"[(\[]([^()\[\]]+)[)\]]", answer)
        if len(groups) >= 1 and all("," in g or "&" in g or " and " in g for g in groups):
            return groups
        parts = re.split(r"[\n;]+", answer)
    else:
        parts = re.split(r"[\n;]+|,\s*|\s+(?:and|&)\s+", answer)
    segments = []
    for part in parts:
        part = _BULLET.sub("", part).strip()
        if not part or part.endswith(":"):  # "The pairs are:" introduces items, is none itself
            continue
        segments.append(part)
    return segments


def _words(text: str) -> str:
    return f" {normalise(text)} "


def set_grade(answer: str, expected: Any, threshold: float | None = None) -> Grade:
    items = _expected_items(expected)
    if not items:
        return Grade(False, 0.0, {"error": "the expected list is empty"})
    pairs = any(isinstance(item, tuple) for item in items)
    segments = [_words(s) for s in _segments(answer, pairs)]

    def found_in(item: str | tuple[str, ...], segment: str) -> bool:
        parts = item if isinstance(item, tuple) else (item,)
        return all(f" {normalise(p)} " in segment for p in parts)

    found = [item for item in items if any(found_in(item, seg) for seg in segments)]
    matching = [seg for seg in segments if any(found_in(item, seg) for item in items)]
    recall = len(found) / len(items)
    precision = len(matching) / len(segments) if segments else 0.0
    f1 = 0.0 if not precision + recall else 2 * precision * recall / (precision + recall)
    need = 1.0 if threshold is None else threshold
    detail = {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "missing": [list(i) if isinstance(i, tuple) else i for i in items if i not in found][:50],
    }
    return Grade(f1 >= need - 1e-9, f1, detail)


def _expected_items(expected: Any) -> list[str | tuple[str, ...]]:
    if isinstance(expected, str):
        expected = [p for p in re.split(r"[\n;,]+", expected) if p.strip()]
    if not isinstance(expected, list):
        expected = [expected]
    items: list[str | tuple[str, ...]] = []
    for item in expected:
        items.append(tuple(str(p) for p in item) if isinstance(item, list) else str(item))
    return items


def _text(expected: Any) -> str:
    return expected if isinstance(expected, str) else str(expected)


def grade(
    grader: str,
    answer: str | None,
    expected: Any,
    *,
    tolerance: float | None = None,
    rel_tolerance: float | None = None,
    threshold: float | None = None,
) -> Grade:
    """Grade with any grader but `judge` (which needs a model: rlm_eval.judge.judge)."""
    if answer is None or not str(answer).strip():
        return Grade(False, 0.0, {"error": "no answer"})
    if grader == "exact":
        return exact(answer, expected)
    if grader == "contains":
        return contains(answer, expected)
    if grader == "number":
        return number(answer, expected, tolerance, rel_tolerance)
    if grader == "regex":
        return regex(answer, expected)
    if grader == "set":
        return set_grade(answer, expected, threshold)
    raise ValueError(f"Unknown grader {grader!r}: choose one of {', '.join(GRADERS)}.")
