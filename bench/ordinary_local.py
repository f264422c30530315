"""Ordinary questions with the offline model: the RLM against the same model reading directly.

The suite (bench/ordinary_suite.py) asks 10 questions per corpus size, two of each kind:
a lookup, a count, a total, a maximum, a list, over agreements and invoices spread across
documents. Methods, both on the local model (default Qwen2.5-Coder-1.5B, temperature 0):

- rlm:    `rlm_engine.run` with the documents as `context` (a list, one entry per document);
- direct: the engine's direct reading (`method="direct"`): one call with the documents in the
  prompt, cut to what fits the model's window.

Prints a Markdown table per size and per kind (right, median seconds), and writes every answer
with the RLM's whole trajectory to a JSON file (`--out`), so failures can be read.

    uv run python bench/ordinary_local.py --sizes 8000 --methods rlm
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ordinary_suite import KINDS, build

from rlm_engine import Budgets, Credentials, ModelSpec, RunConfig, run
from rlm_engine.events import Event


def ask_rlm(
    spec: ModelSpec, docs: list[str], question: str, max_time_s: float, extra: dict[str, Any]
) -> dict[str, Any]:
    extra = dict(extra)
    if "guards" in extra:  # imported here: the baseline engine (before the guards) has none
        from rlm_engine.config import GuardConfig

        extra["guards"] = GuardConfig(**extra["guards"])
    config = RunConfig(
        root=spec,
        budgets=Budgets(max_iterations=8, max_sub_calls=30, max_time_s=max_time_s),
        exec_timeout_s=60.0,
        request_timeout_s=max_time_s,
        **extra,
    )
    trace: list[dict[str, Any]] = []

    def keep(event: Event) -> None:
        data = event.to_dict()
        data.pop("config", None)
        data.pop("context_meta", None)
        trace.append({k: v for k, v in data.items() if v not in (None, "", 0, False)})

    result = run(question, docs, config, credentials=Credentials(), on_event=keep)
    data = result.to_dict()
    return {
        "trace": trace,
        "answer": result.answer or result.error or "",
        "status": result.status,
        "unsupported": bool(data.get("unsupported")),
        "iterations": result.iterations,
        "sub_calls": result.sub_calls,
        "input_tokens": result.input_tokens,
        "output_tokens": result.output_tokens,
    }


def ask_direct(spec: ModelSpec, docs: list[str], question: str, max_time_s: float) -> dict:
    """The engine's direct reading (`method="direct"`): the documents in one prompt, cut to the
    model's window."""
    config = RunConfig(
        root=spec,
        budgets=Budgets(max_time_s=max_time_s),
        request_timeout_s=max_time_s,
        method="direct",  # type: ignore[call-arg]  (the router: not in the baseline engine)
    )
    result = run(question, docs, config, credentials=Credentials())
    return {
        "answer": result.answer or result.error or "",
        "status": result.status,
        "input_tokens": result.input_tokens,
        "output_tokens": result.output_tokens,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b", help="catalogue name or .gguf")
    parser.add_argument("--sizes", default="8000,64000,256000,1000000")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--methods", default="rlm,direct")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--label", default="", help="a name for this configuration")
    parser.add_argument("--only", default="", help="question numbers of each size (0-9), e.g. 2,4")
    parser.add_argument("--config", default="{}", help="extra RunConfig fields, JSON")
    parser.add_argument("--max-time", type=float, default=240.0, help="RLM: seconds/question")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "ordinary.json")
    args = parser.parse_args()
    spec = ModelSpec("local", args.model)
    extra = json.loads(args.config)
    kinds = set(args.kinds.split(","))
    records: list[dict[str, Any]] = []
    for size in (int(s) for s in args.sizes.split(",")):
        docs, qs = build(size, args.seed)
        for method in args.methods.split(","):
            picked = [int(i) for i in args.only.split(",")] if args.only else range(len(qs))
            for q in (qs[i] for i in picked if qs[i].kind in kinds):
                started = time.perf_counter()
                if method == "rlm":
                    outcome = ask_rlm(spec, docs, q.text, args.max_time, extra)
                else:
                    outcome = ask_direct(spec, docs, q.text, args.max_time)
                record = {
                    "label": args.label,
                    "size": size,
                    "method": method,
                    "kind": q.kind,
                    "question": q.text,
                    "expected": q.expected,
                    "correct": q.grade(outcome["answer"]),
                    "seconds": round(time.perf_counter() - started, 2),
                    **outcome,
                }
                records.append(record)
                shown = {k: v for k, v in record.items() if k != "trace"}
                print(json.dumps(shown, ensure_ascii=False), flush=True)
                args.out.write_text(json.dumps(records, indent=1, ensure_ascii=False))
    print(table(records))
    print(f"Every answer, with the RLM's trajectory: {args.out}")


def table(records: list[dict[str, Any]]) -> str:
    lines = [
        "| corpus chars | method | lookup | count | total | max | list | all | median s |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault((record["size"], record["method"]), []).append(record)
    for (size, method), group in groups.items():
        cells = []
        for kind in KINDS:
            mine = [r for r in group if r["kind"] == kind]
            cells.append(f"{sum(r['correct'] for r in mine)}/{len(mine)}" if mine else "-")
        right = sum(r["correct"] for r in group)
        median = statistics.median(r["seconds"] for r in group)
        lines.append(
            f"| {size:,} | {method} | {' | '.join(cells)} | {right}/{len(group)} | {median:.1f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
