"""Sources: precision, recall and the cost of matching, on generated corpora whose facts sit at
known places, with the stand-in playing a capable model (real sandbox, real SDKs, real HTTP).

    uv run python bench/bench_sources.py                       # 100k, 1M, 4M characters
    uv run python bench/bench_sources.py --sizes 40000000 --scenarios single --latency 0.5

Scenarios: `single` (one needle), `several` (three needles, one question about all three),
`page` (a fact on a given page of a paginated document). Strategies of the scripted root model:
`search` (regex hits printed as `repr` windows of 300 characters, then FINAL) and `chunks` (the
corpus in 100k-character chunks through llm_query_batched, the sub model answering with the
fact's sentence where its chunk holds it, then FINAL). Precision: the share of listed sources that
hold a fact; recall: the share of facts whose passage is listed. Matching: the tracker's own time
(SourcesFound.elapsed_s) against the run's wall time; the index build is timed apart.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlm_engine import Budgets, Credentials, ModelSpec, RunConfig, Session
from rlm_engine.defaults import suggested_model
from rlm_engine.events import Event, RunFinished, SourcesFound
from rlm_engine.sources import CorpusIndex, SourceDoc
from rlm_testkit.prose import lines, vocabulary
from rlm_testkit.standin import Request, StandIn

ROOT, SUB = "bench-root", "bench-sub"
CITIES = ["Lisbon", "Oslo", "Quito", "Hanoi", "Dakar", "Perth"]
PAGE_CHARS = 3000


@dataclass
class Case:
    name: str
    docs: list[SourceDoc]
    question: str
    answer: str
    facts: list[tuple[int, int, int]]  # (document, start, end) of each fact's sentence
    pattern: str  # what the scripted model searches for


def insert(text: str, sentence: str, at: int) -> tuple[str, int]:
    at = text.find("\n", at) + 1 or len(text)
    return text[:at] + sentence + "\n" + text[at:], at


def make_case(scenario: str, size: int, seed: int) -> Case:
    rng = random.Random(seed)
    base = lines(rng, vocabulary(rng), size)[:size]
    if scenario in ("single", "several"):
        n = 1 if scenario == "single" else 3
        cities = rng.sample(CITIES, n)
        codes = [str(rng.randint(1000, 9999)) for _ in cities]
        spots = sorted(rng.randint(0, size - 1) for _ in cities)
        sentences = [
            f"The access code for the {c} vault is {k}." for c, k in zip(cities, codes, strict=True)
        ]
        text = base
        for sentence, spot in sorted(zip(sentences, spots, strict=True), key=lambda x: -x[1]):
            text, _ = insert(text, sentence, spot)  # from the end: earlier spots stay put
        facts = [(0, text.index(s), text.index(s) + len(s)) for s in sentences]
        question = "What are the access codes of the " + ", ".join(cities) + " vaults?"
        answer = "; ".join(f"{c}: {k}" for c, k in zip(cities, codes, strict=True))
        return Case(scenario, [SourceDoc("vaults.txt", text)], question, answer, facts, "vault")
    pages = [base[i : i + PAGE_CHARS] for i in range(0, len(base), PAGE_CHARS)]
    page = rng.randrange(len(pages))
    number, company = rng.randint(10000, 99999), rng.choice(["Acme Corp", "Globex", "Initech"])
    sentence = f"Invoice {number} was paid by {company} on 3 March 2027."
    pages[page], _ = insert(pages[page], sentence, len(pages[page]) // 2)
    text = "\f".join(pages)
    offsets = tuple(sum(len(p) + 1 for p in pages[:i]) for i in range(len(pages)))
    start = text.index(sentence)
    doc = SourceDoc("ledger.pdf", text, offsets)
    question = f"Who paid invoice {number}?"
    return Case("page", [doc], question, f"{company} paid invoice {number}.",
                [(0, start, start + len(sentence))], "Invoice")  # fmt: skip


def script(standin: StandIn, case: Case, strategy: str) -> None:
    if strategy == "search":
        code = (
            "import re\ndocs = context if isinstance(context, list) else [context]\n"
            "for i, d in enumerate(docs):\n"
            f"    for m in re.finditer(r'{case.pattern}', d):\n"
            "        print(i, repr(d[max(0, m.start() - 300) : m.end() + 300]))"
        )
    else:
        code = (
            "d = context if isinstance(context, str) else '\\n'.join(context)\n"
            "chunks = [d[i : i + 100_000] for i in range(0, len(d), 100_000)]\n"
            "answers = llm_query_batched(['Quote the sentence that answers: ' + repr(q) + "
            "'\\n\\n' + c for q, c in [(QUESTION, c) for c in chunks]])\n"
            "print([a for a in answers if a != 'NO_ANSWER'])"
        ).replace("QUESTION", repr(case.question))
    standin.enqueue(f"```repl\n{code}\n```", f"FINAL({case.answer})", model=ROOT)


def sub_model(request: Request) -> str:
    """The sub model: the fact's sentence where its chunk holds one, else NO_ANSWER."""
    import re

    found = re.findall(r"[^.\n]*(?:vault is \d+|Invoice \d+ was paid)[^.\n]*\.", request.prompt)
    return " ".join(found) or "NO_ANSWER"


def score(case: Case, sources: list[dict]) -> tuple[float, float]:
    def holds(s: dict, fact: tuple[int, int, int]) -> bool:
        return s["document_index"] == fact[0] and s["start"] <= fact[1] and fact[2] <= s["end"]

    precision = sum(any(holds(s, f) for f in case.facts) for s in sources) / max(1, len(sources))
    recall = sum(any(holds(s, f) for s in sources) for f in case.facts) / len(case.facts)
    return precision, recall


def run_case(case: Case, strategy: str, latency: float) -> dict:
    started = time.perf_counter()
    index = CorpusIndex(case.docs)
    build_s = time.perf_counter() - started
    events: list[Event] = []
    with StandIn(latency_s=latency) as standin:
        standin.on(sub_model, model=SUB)
        script(standin, case, strategy)
        config = RunConfig(
            root=ModelSpec("openai", ROOT),
            sub=ModelSpec("openai", SUB),
            budgets=Budgets(max_iterations=4),
            exec_timeout_s=600,
        )
        creds = Credentials(openai_api_key="bench", openai_base_url=standin.openai_base_url)
        context = [d.text for d in case.docs]
        with Session(context if len(context) > 1 else context[0], creds, sources=index) as s:
            t0 = time.perf_counter()
            s.run(case.question, config, on_event=events.append)
            wall = time.perf_counter() - t0
    found = next(e for e in events if isinstance(e, SourcesFound))
    finished = next(e for e in events if isinstance(e, RunFinished) and e.depth == 0)
    precision, recall = score(case, found.sources)
    return {
        "scenario": case.name,
        "strategy": strategy,
        "chars": sum(len(d.text) for d in case.docs),
        "status": finished.status,
        "sources": len(found.sources),
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "index_build_s": round(build_s, 3),
        "matching_s": round(found.elapsed_s, 3),
        "matching_cpu_s": round(found.cpu_s, 3),
        "wall_s": round(wall, 2),
        "matching_share": round(found.elapsed_s / wall, 4),
        "matching_cpu_share": round(found.cpu_s / wall, 4),
    }


def run_offline(case: Case, timeout_s: float) -> dict:
    """The offline model (Qwen2.5-Coder-1.5B) as root and sub model: sources scored where its
    answer is right (holds every code / the company)."""
    index = CorpusIndex(case.docs)
    events: list[Event] = []
    config = RunConfig(
        root=ModelSpec("local", suggested_model("local")),
        sub=ModelSpec("local", suggested_model("local", "sub")),
        budgets=Budgets(max_iterations=6, max_time_s=timeout_s),
    )
    context = [d.text for d in case.docs]
    with Session(context if len(context) > 1 else context[0], Credentials(), sources=index) as s:
        t0 = time.perf_counter()
        result = s.run(case.question, config, on_event=events.append)
        wall = time.perf_counter() - t0
    found = next((e for e in events if isinstance(e, SourcesFound)), None)
    sources = found.sources if found else []
    keys = re.findall(r"\b\d{4}\b|Acme Corp|Globex|Initech", case.answer)
    right = all(k in (result.answer or "") for k in keys)
    precision, recall = score(case, sources)
    return {
        "scenario": case.name,
        "model": "offline",
        "chars": sum(len(d.text) for d in case.docs),
        "status": result.status,
        "answer": (result.answer or "")[:120],
        "right": right,
        "sources": len(sources),
        "cited": found.cited if found else 0,
        "precision": round(precision, 3) if sources else None,
        "recall": round(recall, 3),
        "matching_cpu_s": round(found.cpu_s, 3) if found else None,
        "wall_s": round(wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 4_000_000])
    parser.add_argument("--scenarios", nargs="+", default=["single", "several", "page"])
    parser.add_argument("--strategies", nargs="+", default=["search", "chunks"])
    parser.add_argument("--seeds", type=int, default=3, help="corpora per size and scenario")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per model call")
    parser.add_argument(
        "--offline", type=float, metavar="S", help="the offline model instead, S seconds a run"
    )
    args = parser.parse_args()
    rows = []
    if args.offline:
        for size in args.sizes:
            for scenario in args.scenarios:
                for seed in range(args.seeds):
                    row = run_offline(make_case(scenario, size, seed), args.offline)
                    print(json.dumps(row), flush=True)
        return
    for size in args.sizes:
        for scenario in args.scenarios:
            for seed in range(args.seeds):
                case = make_case(scenario, size, seed)
                for strategy in args.strategies:
                    row = run_case(case, strategy, args.latency)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    total_p = sum(r["precision"] for r in rows) / len(rows)
    total_r = sum(r["recall"] for r in rows) / len(rows)
    print(
        json.dumps({"runs": len(rows), "precision": round(total_p, 3), "recall": round(total_r, 3)})
    )


if __name__ == "__main__":
    main()
