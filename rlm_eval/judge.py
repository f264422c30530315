"""The `judge` grader: a judge model (itself a configuration) compares an answer with the expected
one under a short rubric. Its verdict, reasoning, tokens and cost are kept with the grade.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rlm_engine.config import ModelSpec
from rlm_engine.errors import RLMError
from rlm_engine.pricing import cost_usd
from rlm_engine.providers import Provider
from rlm_eval.graders import Grade

SYSTEM = (
    "You grade answers to questions about documents. Compare the ANSWER with the EXPECTED "
    "answer. It is correct when it states the same fact, number, name or list as the expected "
    "answer: different wording, formatting, units written out or extra explanation are fine. It "
    "is incorrect when it contradicts the expected answer, leaves part of it out, or hedges "
    "between several answers. Reply with JSON only: "
    '{"verdict": "correct" or "incorrect", "reasoning": "one or two sentences"}'
)

_POSITIVE = {"correct", "pass", "passed", "yes", "true", "right"}
_NEGATIVE = {"incorrect", "fail", "failed", "no", "false", "wrong"}


def prompt(question: str, expected: Any, answer: str) -> str:
    shown = expected if isinstance(expected, str) else json.dumps(expected, ensure_ascii=False)
    return f"QUESTION:\n{question}\n\nEXPECTED:\n{shown}\n\nANSWER:\n{answer}"


def parse_verdict(text: str) -> tuple[bool | None, str]:
    """(True/False, reasoning) from the judge's reply; None when no verdict can be read.

    Reads a JSON object first; then a `verdict: ...` line; then a reply that is one word.
    "INCORRECT" is never read as "correct".
    """
    match = re.search(r"\{.*\}", text, re.DOTALL)
    if match:
        try:
            data = json.loads(match[0])
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            verdict = str(data.get("verdict", "")).strip().lower()
            reasoning = str(data.get("reasoning", "")).strip()
            if verdict in _POSITIVE:
                return True, reasoning
            if verdict in _NEGATIVE:
                return False, reasoning
    line = re.search(r"verdict\W{0,5}\s*([a-z]+)", text, re.IGNORECASE)
    words = re.findall(r"[a-z]+", text.lower())
    word = line[1].lower() if line else (words[0] if len(words) == 1 else "")
    reasoning = text.strip()
    if word in _POSITIVE:
        return True, reasoning
    if word in _NEGATIVE:
        return False, reasoning
    return None, reasoning


def judge(
    provider: Provider,
    spec: ModelSpec,
    question: str,
    expected: Any,
    answer: str | None,
    price_overrides: dict[str, tuple[float, float]] | None = None,
) -> Grade:
    """One judge call; a failed call or an unreadable verdict fails the grade, saying why."""
    if answer is None or not answer.strip():
        return Grade(False, 0.0, {"error": "no answer", "judge": spec.label})
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": prompt(question, expected, answer)},
    ]
    try:
        reply = provider.complete(messages, max_tokens=300, temperature=0.0)
    except RLMError as exc:
        return Grade(False, 0.0, {"error": f"judge call failed: {exc}", "judge": spec.label})
    verdict, reasoning = parse_verdict(reply.text)
    detail: dict[str, Any] = {
        "judge": spec.label,
        "verdict": None if verdict is None else ("correct" if verdict else "incorrect"),
        "reasoning": reasoning[:2000],
        "input_tokens": reply.usage.input_tokens,
        "output_tokens": reply.usage.output_tokens,
        "cost_usd": cost_usd(spec, reply.usage, price_overrides),
    }
    if verdict is None:
        detail["error"] = "the judge's verdict could not be read"
    return Grade(bool(verdict), float(bool(verdict)), detail)
