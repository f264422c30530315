"""Hostile input to the loader: what each attack costs the host process, and how fast it ends.

    uv run python bench/bench_hostile_files.py [--limit-mb MB] [--timeout S] [--only CASE]

Each case runs in a fresh process (`--case NAME`), so its peak RSS (`ru_maxrss`) is its own: the
host's, and separately the PDF extraction child's. Cases: PDF decompression bombs (10 MB and
200 MB of text from a few hundred KB), a FIFO and a link to /dev/zero in a --context folder, a
sparse file past the size cap, 50 KB of random bytes named .txt, and a baseline (a small text
file) for the host's own size. `--limit-mb` runs each case under RLIMIT_AS and `--timeout` kills
it: how the "before" column was measured safely (this script copied into a worktree of the old
commit, which blocks on the FIFO for ever and reads /dev/zero until memory runs out).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlm_engine.corpus import load_paths

try:
    from rlm_engine.corpus_pdf import stop_idle
except ImportError:  # the old commit: PDFs were read in this process

    def stop_idle() -> None:
        pass


def bomb_pdf(n_chars: int, pages: int = 1) -> bytes:
    """`pages` pages sharing one Flate content stream that inflates to `n_chars` characters."""
    packer = zlib.compressobj(9)
    parts = [packer.compress(b"BT /F1 1 Tf 1 TL 0 700 Td\n")]
    block = (b"(" + b"A" * 1000 + b") Tj T*\n") * 1000  # 1 M characters, compressed as it goes
    parts += [packer.compress(block) for _ in range(n_chars // 1_000_000)]
    stream = b"".join([*parts, packer.compress(b"ET"), packer.flush()])
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % (5 + i) for i in range(pages)), pages),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    objects += [
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>"
    ] * pages
    out = io.BytesIO(b"%PDF-1.4\n")
    out.seek(0, 2)
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (i, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % o for o in offsets))
    trailer = b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
    out.write(trailer % (len(objects) + 1, xref))
    return out.getvalue()


def make(case: str, folder: Path) -> str:
    """Put the case's file into `folder`; returns what the file is."""
    if case == "baseline":
        (folder / "a.txt").write_text("plain text\n" * 100)
        return "1 KB text file"
    if case == "pages100":
        data = bomb_pdf(1_000_000, pages=100)
        (folder / "long.pdf").write_bytes(data)
        return f"{len(data) / 1024:.0f} KB PDF, 100 pages of 1 M characters"
    if case.startswith("bomb"):
        data = bomb_pdf(int(case[4:]) * 1_000_000)
        (folder / "bomb.pdf").write_bytes(data)
        return f"{len(data) / 1024:.0f} KB PDF"
    if case == "fifo":
        os.mkfifo(folder / "pipe.txt")
        return "FIFO pipe.txt"
    if case == "devzero":
        (folder / "zero.txt").symlink_to("/dev/zero")
        return "zero.txt -> /dev/zero"
    if case == "oversize":
        with (folder / "big.txt").open("wb") as f:
            f.truncate(101 * 1024 * 1024)
        return "101 MB file (sparse)"
    if case == "random":
        (folder / "random.txt").write_bytes(random.Random(1).randbytes(50_000))
        return "50 KB random bytes as .txt"
    raise SystemExit(f"unknown case {case}")


def run_case(case: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        what = make(case, Path(tmp))
        start = time.perf_counter()
        corpus = load_paths([tmp])
        seconds = time.perf_counter() - start
        stop_idle()  # waited for: its peak RSS then counts in RUSAGE_CHILDREN
    outcome = "; ".join(p.message[:90] for p in corpus.problems) or f"{corpus.total_chars:,} chars"
    print(json.dumps({
        "case": case, "what": what, "seconds": round(seconds, 2), "outcome": outcome,
        "host_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "child_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024,
    }))  # fmt: skip


CASES = ["baseline", "bomb10", "bomb200", "pages100", "fifo", "devzero", "oversize", "random"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case")
    parser.add_argument("--only", action="append", choices=CASES)
    parser.add_argument("--limit-mb", type=int, help="RLIMIT_AS of each case's process")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    if args.case:
        run_case(args.case)
        return

    def limit() -> None:
        if args.limit_mb:
            cap = args.limit_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    for case in args.only or CASES:
        start = time.perf_counter()
        try:
            done = subprocess.run(
                [sys.executable, __file__, "--case", case],
                capture_output=True, text=True, timeout=args.timeout, preexec_fn=limit,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            print(json.dumps({"case": case, "outcome": f"killed after {args.timeout:g} s"}))
            continue
        if done.returncode:
            last = (done.stderr.strip().splitlines() or ["?"])[-1][:120]
            took = round(time.perf_counter() - start, 1)
            print(json.dumps({"case": case, "outcome": f"exit {done.returncode}: {last}",
                              "seconds": took}))  # fmt: skip
            continue
        print(done.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
