"""Counting the sandboxes a run tree keeps alive: the processes below a pid (from /proc), the
sandbox workers among them, and a model reply that makes N threads call `rlm_query` at once."""

from __future__ import annotations

from pathlib import Path

FAN_OUT = """```repl
import threading, time
answers = []
def ask(i):
    answers.append(rlm_query(f'part {i}', context=f'text {i}'))
threads = [threading.Thread(target=ask, args=(i,)) for i in range(N)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(len(answers), 'answers')
```"""
"""A root reply whose N threads each start a child RLM: `FAN_OUT.replace("N", "8")`."""


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (processes of other programs are not counted)."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                parent[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [], [pid]
    while frontier:
        frontier = [p for p, pp in parent.items() if pp in frontier]
        found += frontier
    return found


def sandbox_workers(pids: list[int]) -> set[int]:
    """Those of `pids` that are sandbox workers (rlm_engine/sandbox/worker.py)."""
    found = set()
    for pid in pids:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(arg.endswith(b"sandbox/worker.py") for arg in argv):
            found.add(pid)
    return found
