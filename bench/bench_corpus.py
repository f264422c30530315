"""How fast files become `context`: PDFs (PDFium, and pypdf as before/fallback) and text files.

    uv run python bench/bench_corpus.py [--repeat 3]

Cases: a generated 200-page PDF (plain Tj lines, and TJ word arrays as typesetters write them),
any real PDFs found under /usr/share/doc, and a directory of 1,000 text files totalling 40 MB.
Prints the best of `--repeat` runs for each. For PDFs: `load_files` (PDFium, the path used now)
against `pypdf_pages` (pypdf, the path used before and the fallback), on the same bytes.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlm_engine.corpus import load_files, load_paths
from rlm_engine.corpus_pdf import pypdf_pages
from rlm_testkit.pdf import make_pdf

_VOCABULARY = """
    the of and to in is that for it as was with be by on not he this are or his from at which but
    have an they you were her she there been one all we their has would when if so no what corpus
    recursive language model context window document page budget iteration sub-call
"""
WORDS = _VOCABULARY.split()
REAL_PDFS = [
    Path("/usr/share/doc/libtasn1-doc/libtasn1.pdf"),
    Path("/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf"),
]


def prose(rng: random.Random, n_chars: int, line_chars: int = 80) -> str:
    lines, line, total = [], [], 0
    while total < n_chars:
        word = rng.choice(WORDS)
        line.append(word)
        total += len(word) + 1
        if sum(len(w) + 1 for w in line) >= line_chars:
            lines.append(" ".join(line))
            line = []
    lines.append(" ".join(line))
    return "\n".join(lines)


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_pdfs(repeat: int) -> None:
    rng = random.Random(0)
    pages = [prose(rng, 3000) for _ in range(200)]
    cases = [
        ("generated 200 pages, Tj lines", make_pdf(pages)),
        ("generated 200 pages, TJ word arrays", make_pdf(pages, kerned=True)),
    ]
    cases += [(f"real: {p.name}", p.read_bytes()) for p in REAL_PDFS if p.exists()]
    for label, data in cases:
        doc = load_files([("x.pdf", data)]).documents[0]
        t = best(lambda data=data: load_files([("x.pdf", data)]), repeat)
        tp = best(lambda data=data: pypdf_pages("x.pdf", data), repeat)
        print(
            f"{label:38s} {doc.n_pages:4d} pages {doc.chars / 1e3:5.0f} kchars  "
            f"pypdf {tp:6.3f} s = {doc.n_pages / tp:5.0f} pages/s  "
            f"load_files (PDFium) {t:6.3f} s = {doc.n_pages / t:5.0f} pages/s  ({tp / t:.1f}x)"
        )


def bench_directory(repeat: int) -> None:
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp, "docs")
        chunk = prose(rng, 40_000).encode()
        for i in range(1000):
            path = root / f"d{i % 10}" / f"file{i:04d}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(chunk[:39_990] + f"{i:09d}\n".encode())
        corpus = load_paths([root])
        size_mb = corpus.total_chars / 1e6
        t = best(lambda: load_paths([root]), repeat)
        print(
            f"{'directory, 1,000 text files':42s} {len(corpus.documents):4d} files "
            f"{size_mb:5.1f} MB  load_paths {t:6.3f} s = {size_mb / t:5.0f} MB/s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, {platform.processor()}")
    bench_pdfs(args.repeat)
    bench_directory(args.repeat)


if __name__ == "__main__":
    main()
