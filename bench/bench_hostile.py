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
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

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
}
LABELS = {
    "batch": "llm_query_batched of 1,000,000 prompts",
    "prompt": "one llm_query of 200 MB",
    "final": "FINAL of 500 MB",
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
                if len(body) < 4096:
                    body += chunk[:4096]
            model = ROOT if f'"model":"{ROOT}"'.encode() in body.replace(b" ", b"") else SUB
            with lock:
                text = queue.pop(0) if model == ROOT and queue else "FINAL(done)"
            if model == SUB:
                text = "ok"
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


def cli(args: list[str], env: dict[str, str], rss_file: Path) -> tuple[float, int | None, int]:
    """Wall seconds, peak RSS in MB (None if the process died before its exit hook), exit code."""
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", WRAPPER, *args],
        env={**env, "RLM_BENCH_RSS": str(rss_file)},
        cwd=rss_file.parent,  # `python -c` puts the cwd first on sys.path: not this checkout
        capture_output=True,
        timeout=1800,
    )
    wall = time.monotonic() - start
    peak = int(rss_file.read_text()) // 1024 if rss_file.exists() else None
    rss_file.unlink(missing_ok=True)
    if proc.returncode not in (0, 1):
        sys.stderr.write(proc.stderr.decode(errors="replace")[-2000:])
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
           "--exec-timeout", "600"]  # fmt: skip
    wall, peak, rc = cli(ask, env, work / "rss")
    row: dict[str, object] = {"case": LABELS[name], "wall_s": round(wall, 1), "peak_rss_mb": peak,
                              "rc": rc, "db_mb": round(_size(db) / 2**20, 1)}  # fmt: skip
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
    parser.add_argument("--only", default=",".join(CASES))
    args = parser.parse_args()
    for name in args.only.split(","):
        with tempfile.TemporaryDirectory() as work:
            print(json.dumps(run_case(name, args.before, Path(work))), flush=True)


if __name__ == "__main__":
    main()
