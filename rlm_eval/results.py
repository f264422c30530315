"""Results of an evaluation: per-configuration figures, the matrix, the `--json` object, the
Pareto front of accuracy against cost, and what changed between two evaluations of one set.

Works on storage's records (`EvaluationInfo` with its cells) as plain data.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from dataclasses import dataclass
from typing import Any

OK_STATUSES = ("completed", "limit")


def wilson(correct: int, total: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% by default); (0, 0) with no trials."""
    if total <= 0:
        return (0.0, 0.0)
    p = correct / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def percentile(values: list[float], q: float) -> float | None:
    """The q-quantile (0..1), linear between ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class ConfigSummary:
    name: str
    correct: int
    total: int
    accuracy: float
    ci95: tuple[float, float]
    cost_usd: float | None  # mean per cell (question × repeat); None: some price unknown
    median_elapsed_s: float | None
    p90_elapsed_s: float | None
    input_tokens: int
    output_tokens: int
    sub_calls: int
    failed: int
    judge_cost_usd: float

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "correct": self.correct,
            "total": self.total,
            "accuracy": round(self.accuracy, 4),
            "ci95": [round(self.ci95[0], 4), round(self.ci95[1], 4)],
            "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 6),
            "median_elapsed_s": _round(self.median_elapsed_s),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "sub_calls": self.sub_calls,
            "failed": self.failed,
            "p90_elapsed_s": _round(self.p90_elapsed_s),
            "judge_cost_usd": round(self.judge_cost_usd, 6),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def summarise(info: Any) -> list[ConfigSummary]:
    """One summary per configuration, in the evaluation's order, over the cells done."""
    summaries = []
    for config in info.configs:
        cells = [c for c in info.cells if c.config_name == config["name"]]
        correct = sum(c.passed for c in cells)
        costs = [c.cost_usd for c in cells]
        times = [c.elapsed_s for c in cells]
        summaries.append(
            ConfigSummary(
                name=config["name"],
                correct=correct,
                total=len(cells),
                accuracy=correct / len(cells) if cells else 0.0,
                ci95=wilson(correct, len(cells)),
                cost_usd=None
                if any(c is None for c in costs)
                else (statistics.fmean(costs) if costs else 0.0),
                median_elapsed_s=statistics.median(times) if times else None,
                p90_elapsed_s=percentile(times, 0.9),
                input_tokens=sum(c.input_tokens for c in cells),
                output_tokens=sum(c.output_tokens for c in cells),
                sub_calls=sum(c.sub_calls for c in cells),
                failed=sum(c.status not in OK_STATUSES for c in cells),
                judge_cost_usd=sum(c.grade.get("cost_usd") or 0.0 for c in cells),
            )
        )
    return summaries


def _cell_json(cell: Any) -> dict[str, Any]:
    return {
        "run_id": cell.run_id,
        "answer": cell.answer,
        "passed": cell.passed,
        "score": round(cell.score, 4),
    }


EMPTY = {"run_id": None, "answer": None, "passed": None, "score": None}


def to_json(info: Any) -> dict[str, Any]:
    """The `rlm eval run/resume/show --json` object (a contract: extend, never change).
    A cell not run yet is all nulls; with --repeat K > 1 a result adds "repeats" (every try)."""
    by_key = {(c.question_id, c.config_name, c.repeat): c for c in info.cells}
    questions = []
    for q in info.questions:
        results: dict[str, Any] = {}
        for config in info.configs:
            name = config["name"]
            first = by_key.get((q["id"], name, 0))
            results[name] = _cell_json(first) if first else dict(EMPTY)
            if info.repeat > 1:
                tries = [by_key.get((q["id"], name, r)) for r in range(info.repeat)]
                results[name]["repeats"] = [_cell_json(t) if t else dict(EMPTY) for t in tries]
        questions.append(
            {
                "id": q["id"],
                "question": q["question"],
                "expected": q["expected"],
                "results": results,
            }
        )
    return {
        "eval_id": info.id,
        "status": info.status,
        "elapsed_s": round(info.elapsed_s, 3),
        "configs": [s.to_json() for s in summarise(info)],
        "questions": questions,
        "name": info.name,
        "cells_done": len(info.cells),
        "cells_total": info.total_cells,
    }


def pareto(points: list[tuple[str, float, float]]) -> list[str]:
    """Names on the front of (name, cost, accuracy): no other point is at most as costly and at
    least as accurate while better in one of the two."""
    front = []
    for name, cost, acc in points:
        dominated = any(
            (c <= cost and a >= acc) and (c < cost or a > acc) for n, c, a in points if n != name
        )
        if not dominated:
            front.append(name)
    return front


def disagreements(info: Any) -> list[str]:
    """Question ids where the configurations do not all pass or all fail (first repeat)."""
    ids = []
    for q in info.questions:
        verdicts = {c.passed for c in info.cells if c.question_id == q["id"] and c.repeat == 0}
        if len(verdicts) > 1:
            ids.append(q["id"])
    return ids


def compare(before: Any, after: Any) -> dict[str, list[tuple[str, str]]]:
    """Two evaluations of one set: (question id, configuration) pairs that improved (fail ->
    pass), regressed (pass -> fail), or stayed; configurations matched by name."""
    old = {(c.question_id, c.config_name): c.passed for c in before.cells if c.repeat == 0}
    new = {(c.question_id, c.config_name): c.passed for c in after.cells if c.repeat == 0}
    out: dict[str, list[tuple[str, str]]] = {"improved": [], "regressed": [], "same": []}
    for key in sorted(set(old) & set(new)):
        if old[key] == new[key]:
            out["same"].append(key)
        else:
            out["improved" if new[key] else "regressed"].append(key)
    return out


def to_csv(info: Any) -> str:
    """One row per cell: question, configuration, repeat, verdict, answer and figures."""
    out = io.StringIO()
    columns = [
        "question_id", "question", "expected", "config", "repeat", "passed", "score", "status",
        "answer", "run_id", "cost_usd", "elapsed_s", "input_tokens", "output_tokens", "sub_calls",
    ]  # fmt: skip
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    questions = {q["id"]: q for q in info.questions}
    for c in info.cells:
        q = questions.get(c.question_id, {})
        writer.writerow(
            {
                "question_id": c.question_id,
                "question": q.get("question", ""),
                "expected": q.get("expected", ""),
                "config": c.config_name,
                "repeat": c.repeat,
                "passed": c.passed,
                "score": c.score,
                "status": c.status,
                "answer": c.answer or "",
                "run_id": c.run_id or "",
                "cost_usd": "" if c.cost_usd is None else c.cost_usd,
                "elapsed_s": c.elapsed_s,
                "input_tokens": c.input_tokens,
                "output_tokens": c.output_tokens,
                "sub_calls": c.sub_calls,
            }
        )
    return out.getvalue()
