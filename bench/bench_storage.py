"""Storage speed: events recorded per second, listing 10,000 runs, loading a 1,000-sub-call trace,
and whether recording slows a real engine run (`--overhead`).

    uv run python bench/bench_storage.py [--engines sqlite,postgresql] [--runs 10000]
    uv run python bench/bench_storage.py --overhead [--repeat 7] [--sub-calls 200] [--latency 0.2]

SQLite is a file in a temporary directory (WAL, synchronous=NORMAL, as the app uses it);
PostgreSQL is a throwaway local server (rlm_testkit/postgres.py, fsync=off). Results and the
machine go to bench/README.md by hand.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlm_testkit.postgres import create_database, pg_bin, postgres_server
from rlm_testkit.runs import record, run_events
from storage import Database, RunFilter


@contextmanager
def database_url(engine: str) -> Iterator[str]:
    if engine == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    bin_dir = pg_bin()
    if bin_dir is None:
        raise SystemExit("PostgreSQL binaries not found: apt-get install postgresql")
    with postgres_server(bin_dir) as admin:
        yield create_database(admin)


def best_of(repeat: int, action: Callable[[], object]) -> tuple[float, float]:
    """(best, median) seconds over `repeat` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def bench_recording(db: Database) -> None:
    events = run_events("rate", iterations=10, sub_calls=250)  # 5,014 events
    start = time.perf_counter()
    record(db.recorder(), events)
    elapsed = time.perf_counter() - start
    print(
        f"  record, 1 thread:   {len(events):,} events in {elapsed:.2f} s = "
        f"{len(events) / elapsed:,.0f} events/s ({elapsed / len(events) * 1e3:.2f} ms/event)"
    )
    runs = [run_events(f"par{i}", iterations=5, sub_calls=100) for i in range(8)]
    recorder = db.recorder()
    threads = [threading.Thread(target=record, args=(recorder, e)) for e in runs]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    total = sum(len(e) for e in runs)
    print(
        f"  record, 8 threads:  {total:,} events in {elapsed:.2f} s = "
        f"{total / elapsed:,.0f} events/s"
    )


def fill_runs(db: Database, n: int) -> None:
    """n small finished runs (4 events each), through the recorder."""
    recorder = db.recorder()
    for i in range(n):
        record(recorder, run_events(f"list{i:05d}", iterations=1, sub_calls=0))


def bench_listing(db: Database, n: int) -> None:
    start = time.perf_counter()
    fill_runs(db, n)
    print(f"  (filled {n:,} runs in {time.perf_counter() - start:.1f} s)")
    cases = {
        "first page (50)": lambda: db.list_runs(limit=50),
        "page 100 (50)": lambda: db.list_runs(limit=50, offset=4950),
        f"all {n:,} runs": lambda: db.list_runs(limit=n),
        "count": lambda: db.count_runs(),
        "text search, 50": lambda: db.list_runs(RunFilter(text="secret"), limit=50),
        "model filter, 50": lambda: db.list_runs(RunFilter(model="gpt-root"), limit=50),
    }
    for name, action in cases.items():
        best, median = best_of(5, action)
        print(f"  list {name:18} best {best * 1e3:8.1f} ms   median {median * 1e3:8.1f} ms")


def bench_trace(db: Database) -> None:
    record(db.recorder(), run_events("trace", iterations=4, sub_calls=250))  # 1,000 sub-calls
    for name, action in {
        "get_run (1,000 sub-calls)": lambda: db.get_run("trace"),
        "run_events (2,000+ events)": lambda: db.run_events("trace"),
        "export_run": lambda: db.export_run("trace"),
    }.items():
        best, median = best_of(5, action)
        print(f"  {name:28} best {best * 1e3:8.1f} ms   median {median * 1e3:8.1f} ms")


def engine_run(sub_calls: int, latency_s: float, on_event: Callable[[Any], None] | None) -> float:
    """Wall seconds of one real engine run (`rlm_engine.run`: sandbox, loop, events) against the
    stand-in: one code block making `sub_calls` batched sub-calls, then FINAL."""
    import rlm_engine
    from rlm_testkit.standin import StandIn

    with StandIn(latency_s=latency_s) as standin:
        standin.on(lambda request: "ok", model="sub-model")
        code = f"out = llm_query_batched([str(i) for i in range({sub_calls})])\nprint(len(out))"
        standin.enqueue(f"```repl\n{code}\n```", "FINAL(done)", model="root-model")
        config = rlm_engine.RunConfig(
            root=rlm_engine.ModelSpec("openai", "root-model"),
            sub=rlm_engine.ModelSpec("openai", "sub-model"),
            budgets=rlm_engine.Budgets(max_sub_calls=None),
        )
        credentials = rlm_engine.Credentials(
            openai_api_key="bench", openai_base_url=standin.openai_base_url
        )
        start = time.perf_counter()
        result = rlm_engine.run("bench", "ctx", config, credentials=credentials, on_event=on_event)
        elapsed = time.perf_counter() - start
    assert (result.status, result.answer) == ("completed", "done"), result
    return elapsed


def bench_overhead(repeat: int, sub_calls: int, latency_s: float) -> None:
    """The same run with and without a SQLite recorder, alternating, `repeat` times each."""
    engine_run(sub_calls, latency_s, None)  # warm: imports, bytecode, page cache
    plain: list[float] = []
    recorded: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, Database.open(f"sqlite:///{tmp}/o.db") as db:
        inside: list[float] = []  # seconds spent inside the recorder, per recorded run

        def timed(recorder: Callable[[Any], None]) -> Callable[[Any], None]:
            def call(event: Any) -> None:
                start = time.perf_counter()
                recorder(event)
                inside[-1] += time.perf_counter() - start

            return call

        for i in range(repeat):
            recorder = db.recorder()
            for arm in ("plain", "recorded") if i % 2 == 0 else ("recorded", "plain"):
                if arm == "plain":
                    plain.append(engine_run(sub_calls, latency_s, None))
                else:
                    inside.append(0.0)
                    recorded.append(engine_run(sub_calls, latency_s, timed(recorder)))
            assert recorder.close() == 0
        events = len(db.run_events(db.list_runs(limit=1)[0].run_id))
    a, b = statistics.median(plain), statistics.median(recorded)
    print(
        f"  engine run, {sub_calls} batched sub-calls at {latency_s} s, {events} events: "
        f"median without recorder {a:.3f} s, with {b:.3f} s: {(b / a - 1) * 100:+.1f}% "
        f"({(b - a) * 1e3:+.0f} ms; {repeat} runs each, alternating)"
    )
    per_run = statistics.median(inside)
    print(
        f"    inside the recorder: median {per_run * 1e3:.0f} ms per run "
        f"({per_run / events * 1e3:.2f} ms per event), called from the engine's threads"
    )
    print(f"    without: {' '.join(f'{t:.3f}' for t in plain)}")
    print(f"    with:    {' '.join(f'{t:.3f}' for t in recorded)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--overhead", action="store_true", help="only: recording vs a real run")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--sub-calls", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()
    print(f"{platform.platform()}, Python {platform.python_version()}, {platform.processor()}")
    if args.overhead:
        bench_overhead(args.repeat, args.sub_calls, args.latency)
        return
    for engine in args.engines.split(","):
        print(f"\n{engine}")
        with database_url(engine) as url, Database.open(url) as db:
            bench_recording(db)
            bench_trace(db)
            bench_listing(db, args.runs)


if __name__ == "__main__":
    main()
