"""`rlm ask` from process start to its first root request, and the process tree's peak memory.

    uv run python bench/bench_cli_start.py [--sizes 1000000,40000000] [--repeat 5] [--same-db]
        [--no-save]

Each run starts the environment's `rlm` entry point directly (not through `uv run`) on a text
corpus of the given size, against the HTTP stand-in of the OpenAI API (rlm_testkit.standin),
which answers `FINAL("ok")` at once and notes when each request arrived. Figures per size, medians
of `--repeat` fresh processes:

- first request: wall time from just before the process is started to the stand-in receiving the
  first root request;
- CPU to first request: user + system time of the process tree up to then (read from /proc every
  few milliseconds; less sensitive than wall time to other jobs on a shared machine);
- peak RSS: the largest sum of the tree's resident sets seen while polling /proc, and the sum of
  each process's own peak (VmHWM), an upper bound;
- total: wall time to the process's exit (the run saved to a fresh SQLite database; with
  `--same-db`, to one database per size, which holds the corpus from the warm-up run on: a
  user's second run over the same files; with `--no-save`, a run that saves nothing).

The load average is printed with each figure: on a busy machine wall times stretch.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from rlm_testkit.prose import prose
from rlm_testkit.standin import StandIn

ROOT = Path(__file__).resolve().parents[1]
RLM = Path(sys.executable).parent / "rlm"  # the environment's entry point
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def make_corpus(path: Path, chars: int) -> None:
    """Invented prose (rlm_testkit.prose), deterministic, exactly `chars` characters."""
    path.write_text(prose(chars, seed=7)[:chars], encoding="utf-8")


@dataclass
class Sample:
    first_request_s: float
    cpu_to_request_s: float
    peak_rss_mib: float
    hwm_sum_mib: float
    total_s: float


def tree(pid: int) -> list[int]:
    """`pid` and its descendants, from /proc's children lists."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return out


def read_status(pid: int) -> tuple[int, int, float] | None:
    """(VmRSS, VmHWM) in bytes and user + system CPU seconds of one process, or None if gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f if line.startswith(("VmRSS", "VmHWM")))
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read().rsplit(")", 1)[1].split()
    except (OSError, ValueError):
        return None
    rss = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
    hwm = int(fields.get("VmHWM", "0 kB").split()[0]) * 1024
    return rss, hwm, (int(stat[11]) + int(stat[12])) / TICK


class Poller(threading.Thread):
    """Samples the tree's memory and CPU time until the process exits."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        super().__init__(daemon=True)
        self.proc = proc
        self.peak_rss = 0
        self.hwm: dict[int, int] = {}
        self.cpu: dict[int, float] = {}
        self.cpu_at: list[tuple[float, float]] = []  # (monotonic, CPU seconds of the tree)

    def run(self) -> None:
        while self.proc.poll() is None:
            rss = 0
            for pid in tree(self.proc.pid):
                status = read_status(pid)
                if status is None:
                    continue
                rss += status[0]
                self.hwm[pid] = max(self.hwm.get(pid, 0), status[1])
                self.cpu[pid] = status[2]
            self.peak_rss = max(self.peak_rss, rss)
            self.cpu_at.append((time.monotonic(), sum(self.cpu.values())))
            time.sleep(0.003)

    def cpu_until(self, moment: float) -> float:
        """The tree's CPU seconds at the last sample before `moment`."""
        before = [cpu for at, cpu in self.cpu_at if at <= moment]
        return before[-1] if before else 0.0


def run_once(
    rlm: str,
    corpus: Path,
    env: dict[str, str],
    arrivals: list[float],
    data: str | None = None,
    extra: tuple[str, ...] = (),
) -> Sample:
    seen = len(arrivals)
    data = data or tempfile.mkdtemp(prefix="rlm-bench-")
    command = [rlm, "ask", "What is this?", "--context", str(corpus), "--json", *extra]
    started = time.monotonic()
    proc = subprocess.Popen(
        command,
        env={**env, "RLM_DATA_DIR": data},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    poller = Poller(proc)
    poller.start()
    out, err = proc.communicate(timeout=300)
    total = time.monotonic() - started
    poller.join()
    if proc.returncode != 0 or b'"completed"' not in out:
        raise SystemExit(f"rlm ask failed ({proc.returncode}): {out[-300:]!r} {err[-600:]!r}")
    request = arrivals[seen]
    return Sample(
        first_request_s=request - started,
        cpu_to_request_s=poller.cpu_until(request),
        peak_rss_mib=poller.peak_rss / 2**20,
        hwm_sum_mib=sum(poller.hwm.values()) / 2**20,
        total_s=total,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000000,40000000", help="corpus sizes in characters")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rlm", default=str(RLM), help="the entry point (e.g. another checkout's)")
    parser.add_argument(
        "--same-db", action="store_true", help="one database per size (it holds the corpus)"
    )
    parser.add_argument("--no-save", action="store_true", help="runs that save nothing")
    args = parser.parse_args()
    arrivals: list[float] = []

    def answer(request: object) -> str:
        arrivals.append(time.monotonic())
        return 'FINAL("ok")'

    with tempfile.TemporaryDirectory(prefix="rlm-bench-start-") as tmp, StandIn() as standin:
        standin.on(answer)
        env = {**os.environ, "OPENAI_API_KEY": "bench", "OPENAI_BASE_URL": standin.openai_base_url}
        env.pop("ANTHROPIC_API_KEY", None)
        env.pop("RLM_DB_URL", None)
        for size in [int(s) for s in args.sizes.split(",")]:
            corpus = Path(tmp) / f"corpus-{size}.txt"
            make_corpus(corpus, size)
            data = tempfile.mkdtemp(prefix="rlm-bench-") if args.same_db else None
            extra = ("--no-save",) if args.no_save else ()
            run_once(args.rlm, corpus, env, arrivals, data, extra)  # a warm page cache, as for a
            # user's second run
            samples = [
                run_once(args.rlm, corpus, env, arrivals, data, extra) for _ in range(args.repeat)
            ]
            report(size, samples)


def report(size: int, samples: list[Sample]) -> None:
    def med(name: str) -> float:
        return statistics.median(getattr(s, name) for s in samples)

    load = os.getloadavg()[0]
    print(
        f"{size:>11,} chars: first request {med('first_request_s'):.2f} s "
        f"(CPU {med('cpu_to_request_s'):.2f} s), peak RSS {med('peak_rss_mib'):.0f} MiB "
        f"(sum of peaks {med('hwm_sum_mib'):.0f} MiB), total {med('total_s'):.2f} s; "
        f"load {load:.1f}; first requests {[round(s.first_request_s, 2) for s in samples]}",
        flush=True,
    )


if __name__ == "__main__":
    main()
