"""A generated suite: corpus files plus questions with expected answers, written to a directory.

`make_suite(kind, size, seed)` builds one in memory (deterministic: the same arguments give the
same bytes); `write_suite(suite, out)` writes `set.jsonl`, the corpus under `corpus/`, and
`suite.json` (what made it). `rlm eval run DIR/set.jsonl --context DIR/corpus` then runs it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rlm_eval.questions import Question

MIN_SIZE = 8_000
MAX_SIZE = 4_000_000
DEFAULT_QUESTIONS = 10


@dataclass
class Suite:
    """A generated corpus (file name -> text or PDF bytes) and its questions."""

    kind: str
    size: int
    seed: int
    files: dict[str, str | bytes] = field(default_factory=dict)
    questions: list[Question] = field(default_factory=list)

    @property
    def chars(self) -> int:
        """Characters of the text files (a PDF's text is counted by its generator)."""
        return sum(len(body) for body in self.files.values() if isinstance(body, str))


class SuiteError(ValueError):
    """A bad kind, size or count; the message says what is allowed."""


def _generators() -> dict[str, Callable[[int, int, int], Suite]]:
    from rlm_eval import gen_count, gen_needle, gen_pairs, gen_pdf

    return {
        "needle": gen_needle.needle,
        "multi-needle": gen_needle.multi_needle,
        "count": gen_count.count,
        "pairs": gen_pairs.pairs,
        "pdf-page": gen_pdf.pdf_page,
    }


KINDS = ("needle", "multi-needle", "count", "pairs", "pdf-page")


def make_suite(kind: str, size: int, seed: int = 0, questions: int = DEFAULT_QUESTIONS) -> Suite:
    """Build the suite `kind` with a corpus of about `size` characters."""
    generators = _generators()
    if kind not in generators:
        raise SuiteError(f"Unknown suite kind {kind!r}: choose one of {', '.join(KINDS)}.")
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise SuiteError(f"--size must be between {MIN_SIZE:,} and {MAX_SIZE:,} characters.")
    if not 1 <= questions <= 200:
        raise SuiteError("--questions must be between 1 and 200.")
    return generators[kind](size, seed, questions)


def write_suite(suite: Suite, out: Path) -> Path:
    """Write the suite under `out` (created if missing); returns the path of set.jsonl."""
    corpus = out / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for name, body in suite.files.items():
        path = corpus / name
        if isinstance(body, bytes):
            path.write_bytes(body)
        else:
            path.write_text(body, encoding="utf-8")
    set_path = out / "set.jsonl"
    with set_path.open("w", encoding="utf-8") as handle:
        for question in suite.questions:
            handle.write(json.dumps(question.to_json(), ensure_ascii=False) + "\n")
    manifest = {
        "kind": suite.kind,
        "size": suite.size,
        "seed": suite.seed,
        "questions": len(suite.questions),
        "files": sorted(suite.files),
    }
    (out / "suite.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return set_path
