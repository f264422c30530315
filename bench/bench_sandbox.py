"""Sandbox costs: worker start, loading a 40 MB context, empty round-trip, llm_query overhead, RSS.

Run: `uv run python bench/bench_sandbox.py`. Prints one line per figure (medians).
"""

from __future__ import annotations

import statistics
import time

from rlm_engine.sandbox import Sandbox


class Instant:
    """A handler that answers at once: what is left is the sandbox's own overhead."""

    def llm_query(self, prompt: str) -> str:
        return "ok"

    def llm_query_batched(self, prompts: list[str]) -> list[str]:
        return ["ok"] * len(prompts)

    def rlm_query(self, prompt: str, context: object) -> str:
        return "ok"


def median_s(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        begin = time.perf_counter()
        fn()
        times.append(time.perf_counter() - begin)
    return statistics.median(times)


def bench_start() -> tuple[float, str]:
    times, mode = [], ""
    for _ in range(10):
        box = Sandbox()
        begin = time.perf_counter()
        box.start()
        times.append(time.perf_counter() - begin)
        mode = box.isolation.describe() if box.isolation else "?"
        box.close()
    return statistics.median(times), mode


def main() -> None:
    start_s, mode = bench_start()
    print(f"isolation: {mode}")
    print(f"worker start: {start_s * 1000:.1f} ms (median of 10)")
    docs = [("lorem ipsum dolor sit amet " * 1_500)[:40_000] for _ in range(1_000)]
    handler = Instant()
    with Sandbox() as box:
        box.start()
        load_s = median_s(lambda: box.load_context(docs), 5)
        print(f"load 40 MB context (1,000 docs): {load_s * 1000:.0f} ms (median of 5)")
        code = "{l.split(':')[0]: l.split()[1] for l in open('/proc/self/status') if 'Vm' in l}"
        fields = eval(box.execute(code, handler).output)
        print(f"worker RSS after loading: {int(fields['VmRSS']) / 1024:.0f} MB, "
              f"peak {int(fields['VmHWM']) / 1024:.0f} MB")  # fmt: skip
        empty_s = median_s(lambda: box.execute("pass", handler), 200)
        print(f"empty execution round-trip: {empty_s * 1e6:.0f} µs (median of 200)")
        n = 2_000
        loop_s = median_s(lambda: box.execute(f"for _ in range({n}): llm_query('q')", handler), 5)
        print(f"llm_query round-trip overhead: {(loop_s - empty_s) / n * 1e6:.0f} µs per call")
        batch = "llm_query_batched(['q'] * 1000)"
        batch_s = median_s(lambda: box.execute(batch, handler), 5)
        print(f"llm_query_batched of 1,000 prompts: {batch_s * 1000:.1f} ms")


if __name__ == "__main__":
    main()
