"""What each part of the small-model work buys with the offline model: the router, the REPL
helpers in the prompt, the strategy hints and the guards with their fallback, each switched off in
turn.

Suites come from `rlm_eval` (the generators behind `rlm eval make`): `count` (ordinary questions
over agreements, invoices and reports: counts, totals, maxima, lookups) and `needle`. `juniper`
is a hand-written case: twelve short contracts (about 20,000 characters) and "On what date does
the agreement with Juniper Energy renew?".

Parts (one configuration each): `all` (method auto, helpers and hints in the prompt, guards and
fallback on), `no-router` (method rlm), `no-helpers`, `no-hints`, `no-guards`, `no-look` (no
first look, so no engine-filled tally either). Prints a Markdown
table (right, median seconds, root calls, how often each guard and the fallback fired) and keeps
every record in `--out`.

    uv run python bench/seeds_local.py --kinds juniper --parts all,no-router
    uv run python bench/seeds_local.py --kinds count --sizes 8000,64000 \\
        --questions 8 --parts all,no-router
    uv run python bench/seeds_local.py --kinds count --questions 22 --seed 2,3,4 --parts all \\
        --only '(agreement|invoice) [A-Z]+-[0-9]'       # the lookups by ID only
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import re
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from rlm_engine import Budgets, Credentials, ModelSpec, RunConfig, run
from rlm_engine.events import Event, GuardFired, RootResponse

PARTS = ("all", "no-router", "no-helpers", "no-hints", "no-guards", "no-look")
VENDORS = [
    "Acme Logistics", "Birch Analytics", "Cobalt Freight", "Delta Catering", "Elm Security",
    "Fjord Cleaning", "Granite IT", "Harbor Legal", "Iris Printing", "Juniper Energy",
    "Kestrel Travel", "Lumen Media",
]  # fmt: skip


def juniper_suite(seed: int) -> tuple[list[str], list[tuple[str, str, str]]]:
    """Twelve service agreements (~1,700 characters each); and the question about Juniper Energy."""
    rng = random.Random(seed)
    docs, renewal = [], ""
    for vendor in VENDORS:
        month, day = rng.randint(1, 12), rng.randint(1, 28)
        date = f"{2026 + rng.randint(0, 2)}-{month:02d}-{day:02d}"
        renewal = date if vendor == "Juniper Energy" else renewal
        fee = rng.randint(12, 480) * 1_000
        clauses = " ".join(
            f"Clause {n}: the parties shall {rng.choice(['notify', 'inform', 'consult'])} each "
            f"other in writing of any {rng.choice(['change', 'delay', 'incident'])} affecting "
            "the services, within ten business days, and keep records for audit."
            for n in range(3, 13)
        )
        docs.append(
            f"SERVICE AGREEMENT between Northwind Holdings and {vendor}.\n"
            f"Clause 1: {vendor} provides its services for an annual fee of USD {fee:,}.\n"
            f"Clause 2: This agreement renews automatically on {date} unless terminated with "
            f"ninety days' notice.\n{clauses}\n"
        )
    question = "On what date does the agreement with Juniper Energy renew?"
    return docs, [(question, renewal, "contains")]


def rlm_eval_suite(kind: str, size: int, seed: int, n: int) -> tuple[list[str], list[tuple]]:
    from rlm_eval.suite import make_suite

    suite = make_suite(kind, size, seed, questions=n)
    docs = [suite.files[name] for name in sorted(suite.files)]
    questions = [(q.question, q.expected, q.grader) for q in suite.questions[:n]]
    return [d for d in docs if isinstance(d, str)], questions


def config_for(part: str, spec: ModelSpec, max_time_s: float) -> RunConfig:
    base = RunConfig(
        root=spec,
        budgets=Budgets(max_iterations=10, max_sub_calls=60, max_time_s=max_time_s),
        exec_timeout_s=60.0,
        request_timeout_s=max_time_s,
        method="auto",
    )
    changes: dict[str, Any] = {
        "no-router": {"method": "rlm"},
        "no-helpers": {"helpers_in_prompt": False},
        "no-hints": {"strategy_hints": False},
        "no-guards": _guards_off(),
        "no-look": {"first_look": False},
    }.get(part, {})
    return replace(base, **changes)


def _guards_off() -> dict[str, Any]:
    """The answer gates, idle limit and stall rule off (and the fallback), where this version has
    them; the evidence guards stay on."""
    from rlm_engine import config

    guard_config = getattr(config, "GuardConfig", None)
    if guard_config is None:
        return {}
    fields = guard_config.__dataclass_fields__
    off = {
        k: v
        for k, v in {
            "final_needs_code": False,
            "final_needs_sub_call": False,
            "max_idle_replies": 0,
            "stall_repeats": 0,
            "stall_iterations": 0,
            "fallback": "off",
        }.items()
        if k in fields
    }
    return {"guards": guard_config(**off)}


def ask(question: str, docs: list[str], config: RunConfig) -> dict[str, Any]:
    counts: collections.Counter[str] = collections.Counter()

    def watch(event: Event) -> None:
        if isinstance(event, GuardFired):
            counts[event.guard] += 1
        elif isinstance(event, RootResponse):
            counts["root_calls"] += 1

    started = time.perf_counter()
    result = run(question, docs, config, credentials=Credentials(), on_event=watch)
    return {
        "answer": result.answer or result.error or "",
        "status": result.status,
        "method": getattr(result, "method", "rlm"),
        "fallback": bool(getattr(result, "fallback", False)),
        "iterations": result.iterations,
        "sub_calls": result.sub_calls,
        "seconds": round(time.perf_counter() - started, 2),
        "events": dict(counts),
    }


def graded(answer: str, expected: Any, grader: str) -> bool:
    from rlm_eval.graders import grade

    try:
        return bool(grade(grader, answer, expected).passed)
    except Exception:  # a grader that cannot read the answer: wrong
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--kinds", default="juniper,count,needle")
    parser.add_argument("--sizes", default="8000,64000,256000,1000000")
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument("--seed", default="3", help="one seed, or several: 1,2,3")
    parser.add_argument("--only", help="ask only the questions this regular expression matches")
    parser.add_argument("--max-time", type=float, default=240.0, help="seconds per question")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "seeds.json")
    args = parser.parse_args()
    spec = ModelSpec("local", args.model)
    records: list[dict[str, Any]] = []
    for seed in (int(s) for s in args.seed.split(",")):
        for kind in args.kinds.split(","):
            sizes = [20_000] if kind == "juniper" else [int(s) for s in args.sizes.split(",")]
            for size in sizes:
                if kind == "juniper":
                    docs, questions = juniper_suite(seed)
                else:
                    docs, questions = rlm_eval_suite(kind, size, seed, args.questions)
                if args.only:
                    questions = [q for q in questions if re.search(args.only, q[0], re.I)]
                for part in args.parts.split(","):
                    config = config_for(part, spec, args.max_time)
                    for question, expected, grader in questions:
                        outcome = ask(question, docs, config)
                        record = {"kind": kind, "size": size, "part": part, "seed": seed}
                        record |= {"question": question, "expected": expected, **outcome}
                        record["correct"] = graded(outcome["answer"], expected, grader)
                        records.append(record)
                        print(json.dumps(record, default=str), flush=True)
                        args.out.write_text(json.dumps(records, indent=1, default=str))
    print(table(records))


def table(records: list[dict[str, Any]]) -> str:
    lines = [
        "| suite | chars | part | right | median s | root calls (mean) | direct | guards fired "
        "| fallback |",
        "|---|---:|---|---:|---:|---:|---:|---|---:|",
    ]
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault((record["kind"], record["size"], record["part"]), []).append(record)
    for (kind, size, part), group in groups.items():
        fired: collections.Counter[str] = collections.Counter()
        for record in group:
            fired.update({k: v for k, v in record["events"].items() if k != "root_calls"})
        roots = statistics.mean(r["events"].get("root_calls", 0) for r in group)
        lines.append(
            f"| {kind} | {size:,} | {part} | {sum(r['correct'] for r in group)}/{len(group)} "
            f"| {statistics.median(r['seconds'] for r in group):.1f} | {roots:.1f} "
            f"| {sum(r['method'] == 'direct' for r in group)} "
            f"| {', '.join(f'{k} {v}' for k, v in sorted(fired.items())) or '-'} "
            f"| {sum(r['fallback'] for r in group)} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
