"""Engine benchmarks against the stand-in at a fixed latency.

1. Host overhead per iteration: a run of N root turns, each one trivial code block, with the
   stand-in answering instantly; (wall time - time inside provider calls) / N.
2. 100 batched sub-calls at 0.5 s each: wall time of the code block against the ideal
   (ceil(100 / max_concurrency) * 0.5 s).
3. A 10-million-token corpus (~40 MB of text in 1,000 documents): time until the first root
   call reaches the stand-in, peak RSS of host and worker, and the size of the root prompt,
   compared with a 1,000-character corpus (it must not grow with the corpus).

    uv run python bench/bench_engine.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlm_engine import Budgets, Credentials, ModelSpec, RunConfig, Session
from rlm_engine.events import CodeExecuted, Event, RootResponse
from rlm_testkit.standin import StandIn

ROOT, SUB = "root-model", "sub-model"


def config(**overrides: object) -> RunConfig:
    values: dict[str, object] = {
        "root": ModelSpec("openai", ROOT),
        "sub": ModelSpec("openai", SUB),
        "budgets": Budgets(max_iterations=1000, max_sub_calls=None),
    }
    values.update(overrides)
    return RunConfig(**values)  # type: ignore[arg-type]


def credentials(standin: StandIn) -> Credentials:
    return Credentials(openai_api_key="bench", openai_base_url=standin.openai_base_url)


def repl(code: str) -> str:
    return f"```repl\n{code}\n```"


def host_overhead(iterations: int) -> dict[str, float]:
    with StandIn() as standin:
        replies = [repl(f"x{i} = {i}") for i in range(iterations)] + ["FINAL(done)"]
        provider_s = 0.0
        code_s = 0.0

        def on_event(event: Event) -> None:
            nonlocal provider_s, code_s
            if isinstance(event, RootResponse):
                provider_s += event.elapsed_s
            elif isinstance(event, CodeExecuted):
                code_s += event.elapsed_s

        with Session("ctx", credentials(standin)) as session:
            standin.enqueue("FINAL(warm)", model=ROOT)  # imports the SDK and starts the worker
            session.run("warm up", config())
            standin.enqueue(*replies, model=ROOT)
            started = time.perf_counter()
            result = session.run("bench", config(), on_event=on_event)
            wall = time.perf_counter() - started
        assert result.answer == "done", result
        turns = iterations + 1
        return {
            "iterations": turns,
            "wall_s": wall,
            "per_iteration_ms": wall / turns * 1000,
            "in_provider_calls_ms": provider_s / turns * 1000,
            "in_sandbox_ms": code_s / turns * 1000,
            "host_overhead_ms": (wall - provider_s - code_s) / turns * 1000,
        }


def batched(n: int, latency_s: float, concurrency: int) -> dict[str, float]:
    with StandIn(latency_s=latency_s) as standin:
        standin.on(lambda req: "ok", model=SUB)
        standin.enqueue(
            repl(f"out = llm_query_batched([str(i) for i in range({n})])"),
            "FINAL(done)",
            model=ROOT,
        )
        elapsed: list[float] = []

        def on_event(event: Event) -> None:
            if isinstance(event, CodeExecuted):
                elapsed.append(event.elapsed_s)

        with Session("ctx", credentials(standin)) as session:
            session.run("bench", config(max_concurrency=concurrency), on_event=on_event)
        ideal = -(-n // concurrency) * latency_s
        return {
            "sub_calls": n,
            "latency_s": latency_s,
            "max_concurrency": concurrency,
            "wall_s": elapsed[0],
            "ideal_s": ideal,
            "overhead_pct": (elapsed[0] / ideal - 1) * 100,
            "peak_in_flight": standin.peak_in_flight,
        }


class FirstRootCall:
    """Event sink: when the first root response arrived, and the worker's peak RSS it printed."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.first_response_s: float | None = None
        self.worker_rss_kb: int | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, RootResponse) and self.first_response_s is None:
            self.first_response_s = time.perf_counter() - self.started
        if isinstance(event, CodeExecuted) and event.output.strip().isdigit():
            self.worker_rss_kb = int(event.output.strip())


def big_corpus(total_mb: int, n_docs: int) -> dict[str, object]:
    per_doc = total_mb * 1_000_000 // n_docs
    line = "The quick brown fox jumps over the lazy dog while the archivist counts pages. "
    docs = [(line * (per_doc // len(line) + 1))[:per_doc] for _ in range(n_docs)]
    peak_rss = "import resource\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    results: dict[str, object] = {}
    for label, context in (("small", ["x" * 1000]), ("big", docs)):
        with StandIn() as standin:
            standin.enqueue(repl(peak_rss), "FINAL(done)", model=ROOT)
            sink = FirstRootCall(time.perf_counter())
            with Session(context, credentials(standin)) as session:
                session.run("bench", config(), on_event=sink)
            results[label] = {
                "corpus_chars": sum(map(len, context)),
                "first_root_response_s": sink.first_response_s,
                "root_prompt_chars": len(json.dumps(standin.requests[0].body["messages"])),
                "worker_peak_rss_mb": (sink.worker_rss_kb or 0) / 1024,
            }
    results["host_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    report = {
        "host_overhead": host_overhead(20 if args.quick else 100),
        "batched": batched(100, 0.5, 8),
        "batched_16": batched(100, 0.5, 16),
        "big_corpus": big_corpus(4 if args.quick else 40, 1000),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
