"""Numbers as people and models write them: "1,098,000", "1.098 million", "USD 1098000", "$48.2k",
"-5", "12%", "twelve". Used by the `number` grader for both the answer and the expected value.
"""

from __future__ import annotations

import re

_SCALES = {
    "thousand": 1e3,
    "k": 1e3,
    "million": 1e6,
    "mn": 1e6,
    "m": 1e6,
    "billion": 1e9,
    "bn": 1e9,
    "b": 1e9,
    "trillion": 1e12,
}
_NUMBER = re.compile(
    r"(?<![\w.,\-−])([-−])?"  # no sign glued to a word: SA-4213 is an ID, not -4213
    r"(\d{1,3}(?:,\d{3})+|\d{1,3}(?:_\d{3})+|\d+)(\.\d+)?"
    r"(?:\s?(thousand|million|billion|trillion)\b|(k|mn|m|bn|b)\b)?",
    re.IGNORECASE,
)
_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_WORDS = {word: n for n, word in enumerate(_UNITS)}
_WORDS.update({word: 20 + 10 * n for n, word in enumerate(_TENS)})
_WORD_NUMBER = re.compile(
    r"\b(" + "|".join(_TENS) + r")[\s-](" + "|".join(_UNITS[1:10]) + r")\b|\b("
    + "|".join(sorted(_WORDS, key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)  # fmt: skip


def find_numbers(text: str) -> list[float]:
    """Every number in `text`, in order (digits first, then number words up to ninety-nine)."""
    found: list[float] = []
    for m in _NUMBER.finditer(text):
        value = float(m[2].replace(",", "").replace("_", "") + (m[3] or ""))
        scale = (m[4] or m[5] or "").lower()
        value *= _SCALES.get(scale, 1.0)
        found.append(-value if m[1] else value)
    for m in _WORD_NUMBER.finditer(text):
        if m[1]:
            found.append(float(_WORDS[m[1].lower()] + _WORDS[m[2].lower()]))
        else:
            found.append(float(_WORDS[m[3].lower()]))
    return found


def parse_number(value: object) -> float | None:
    """The one number `value` holds (an int, a float, or a string such as "USD 1,098,000"), or
    None when it holds none or several."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        numbers = find_numbers(value)
        return numbers[0] if len(numbers) == 1 else None
    return None
