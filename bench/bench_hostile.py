"""Hostile input: what model code can make the host hold, send and store.

Each attack runs as a real `rlm ask` process (real sandbox, real SQLite file) against a scripted
OpenAI-compatible server in a process of its own (so the bytes it receives do not count as the
host's). The figure is the `rlm ask` process's own peak RSS (VmHWM, read at its exit), the wall
time until it printed its result, and what the database grew by; for the large FINAL also
`rlm runs list` afterwards. `--before DIR` runs the same against another checkout (e.g. a
`git worktree` of an older commit) by putting DIR first on PYTHONPATH.

    uv run python bench/bench_hostile.py [--before DIR] [--only batch,prompt,final]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from rlm_testkit.sandbox_census import FAN_OUT, descendants, sandbox_workers

ROOT, SUB = "root", "sub"
CASES = {
    "batch": [
        "```repl\ntry:\n    r = llm_query_batched(['q'] * 1_000_000)\n    print(len(r))\n"
        "except Exception as e:\n    print(e)\n```",
        "FINAL(done)",
    ],
    "prompt": [
        "```repl\ntry:\n    print(len(llm_query('x' * 200_000_000)))\n"
        "except Exception as e:\n    print(e)\n```",
        "FINAL(done)",
    ],
    "final": ["```repl\nFINAL('x' * 500_000_000)\n```"],
    # 20 threads calling rlm_query at once; with --max-depth 3 each child RLM fans out to 3 again.
    "fanout": [FAN_OUT.replace("N", "20"), "FINAL(done)"],
    "forge": [
        "```repl\nimport os, stat, struct, time\n"
        "def is_socket(n):\n    try:\n        return stat.S_ISSOCK(os.fstat(n).st_mode)\n"
        "    except OSError:\n        return False\n"
        "fd = next(n for n in range(3, 1024) if is_socket(n))\n"
        "body = b'[' * 200_000 + b']' * 200_000\n"
        "os.write(fd, struct.pack('>I', len(body)) + body)\ntime.sleep(60)\n```",
        "FINAL(done)",
    ],
    "baseline": ["FINAL(done)"],
}
LABELS = {
    "batch": "llm_query_batched of 1,000,000 prompts",
    "prompt": "one llm_query of 200 MB",
    "final": "FINAL of 500 MB",
    "fanout": "20 threads calling rlm_query, --max-depth 3, each child fanning out to 3",
    "forge": "a channel frame nested 200,000 deep, written by model code (--exec-timeout 30)",
    "baseline": "a run that answers at once (process start, for reference)",
}
# Runs the CLI and writes its own peak RSS (kB) to the file named by RLM_BENCH_RSS at exit.
WRAPPER = (
    "import atexit, os, re, sys\n"
    "def peak():\n"
    "    text = open('/proc/self/status').read()\n"
    "    open(os.environ['RLM_BENCH_RSS'], 'w').write(re.search(r'VmHWM:\\s+(\\d+)', text)[1])\n"
    "atexit.register(peak)\n"
    "from rlm_cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def serve(replies: list[str]) -> ThreadingHTTPServer:
    """A minimal chat-completions server: the root model answers `replies` in order, the sub
    model "ok". It reads (and drops) whole request bodies."""
    queue = list(replies)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body, left = b"", length
            while left:
                chunk = self.rfile.read(min(left, 1 << 20))
                if not chunk:
                    break
                left -= len(chunk)
                if len(body) < 1 << 20:  # what a reply is chosen by: the start of the body
                    body += chunk[: 1 << 20]
            model = ROOT if f'"model":"{ROOT}"'.encode() in body.replace(b" ", b"") else SUB
            with lock:
                text = queue.pop(0) if model == ROOT and queue else "FINAL(done)"
            if model == SUB:
                text = sub_reply(body if length <= len(body) else b"")
            payload = json.dumps({
                "id": "x", "object": "chat.completion", "created": 0, "model": model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": length // 4 + 1, "completion_tokens": 5,
                          "total_tokens": length // 4 + 6},
            }).encode()  # fmt: skip
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def sub_reply(body: bytes) -> str:
    """A child RLM's root call fans out once, then answers; a plain llm_query says "ok"."""
    try:
        messages = json.loads(body)["messages"]
    except (ValueError, KeyError):
        return "ok"
    if not any(m.get("role") == "system" for m in messages):
        return "ok"
    if "REPL output" in str(messages[-1].get("content")):
        return "FINAL(child done)"
    return FAN_OUT.replace("N", "3")


def census(pid: int, stop: threading.Event, peak: dict[str, int]) -> None:
    """Polls the processes below `pid` (sandboxes: their worker processes) until `stop`."""
    while not stop.wait(0.1):
        found = descendants(pid)
        peak["processes"] = max(peak.get("processes", 0), len(found))
        peak["sandboxes"] = max(peak.get("sandboxes", 0), len(sandbox_workers(found)))


PEAK: dict[str, int] = {}  # live sandboxes and processes below the last `rlm ask`


def cli(args: list[str], env: dict[str, str], rss_file: Path) -> tuple[float, int | None, int]:
    """Wall seconds, peak RSS in MB (None if the process died before its exit hook), exit code."""
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-c", WRAPPER, *args],
        env={**env, "RLM_BENCH_RSS": str(rss_file)},
        cwd=rss_file.parent,  # `python -c` puts the cwd first on sys.path: not this checkout
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    stop, peak = threading.Event(), PEAK
    watcher = threading.Thread(target=census, args=(proc.pid, stop, peak), daemon=True)
    watcher.start()
    _, stderr = proc.communicate(timeout=1800)
    wall = time.monotonic() - start
    stop.set()
    watcher.join()
    peak = int(rss_file.read_text()) // 1024 if rss_file.exists() else None
    rss_file.unlink(missing_ok=True)
    if proc.returncode not in (0, 1):
        sys.stderr.write(stderr.decode(errors="replace")[-2000:])
    return wall, peak, proc.returncode


def run_case(name: str, before: str | None, work: Path) -> dict[str, object]:
    server = serve(CASES[name])
    port = server.server_address[1]
    (work / "a.txt").write_text("a small corpus")
    db = work / f"{name}.db"
    env = {**os.environ, "OPENAI_API_KEY": "bench", "OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1",
           "RLM_DATA_DIR": str(work / "data")}  # fmt: skip
    if before:
        env["PYTHONPATH"] = before
    ask = ["ask", "Q?", "--context", str(work / "a.txt"), "--provider", "openai", "--model", ROOT,
           "--sub-model", SUB, "--db", f"sqlite:///{db}", "--json",
           "--exec-timeout", "30" if name == "forge" else "600"]  # fmt: skip
    if name == "fanout":
        ask += ["--max-depth", "3"]
    PEAK.clear()
    wall, peak, rc = cli(ask, env, work / "rss")
    row: dict[str, object] = {"case": LABELS[name], "wall_s": round(wall, 1), "peak_rss_mb": peak,
                              "rc": rc, "db_mb": round(_size(db) / 2**20, 1)}  # fmt: skip
    if name == "fanout":
        row.update(PEAK)
    if name == "forge":  # how long the forged block took to end, and how it ended
        with sqlite3.connect(db) as conn:  # the block's CodeExecuted, as stored
            data = conn.execute("SELECT data FROM events WHERE type = 'code_executed'").fetchone()
        block = json.loads(data[0])
        row["block_s"] = round(block["elapsed_s"], 2)
        row["block_error"] = (block["error"] or "")[:90]
    if name == "final":
        wall, peak, rc = cli(["runs", "list", "--db", f"sqlite:///{db}"], env, work / "rss")
        row["runs_list"] = {"wall_s": round(wall, 2), "peak_rss_mb": peak, "rc": rc}
    server.shutdown()
    return row


def _size(db: Path) -> int:
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", metavar="DIR", help="an older checkout to measure instead")
    parser.add_argument("--only", default="baseline,batch,prompt,final,fanout,forge")
    args = parser.parse_args()
    for name in args.only.split(","):
        with tempfile.TemporaryDirectory() as work:
            print(json.dumps(run_case(name, args.before, Path(work))), flush=True)


if __name__ == "__main__":
    main()
