"""The `pdf-page` suite: a fact on a given page of a PDF.

One PDF (`handbook.pdf`) of about `size` characters of text; every page carries its own inspection
reference, so the reference of page N is found only by finding page N (in `context` a PDF's pages
are separated by form feeds). No page numbers are printed on the pages.
"""

from __future__ import annotations

import random
import textwrap

from rlm_eval.pdf_writer import make_pdf
from rlm_eval.prose import filler
from rlm_eval.suite import Question, Suite

PAGE_CHARS = 3000
QUESTIONS = [
    "What is the inspection reference printed on page {page} of the handbook?",
    "Page {page} of the handbook gives an inspection reference. What is it?",
]


def pdf_page(size: int, seed: int, questions: int) -> Suite:
    """One reference per page; questions ask for the references of distinct pages."""
    rng = random.Random(f"pdf-page:{seed}:{size}")
    n_pages = max(questions + 2, size // PAGE_CHARS)
    per_page = size // n_pages
    refs = [f"R-{n}" for n in rng.sample(range(10000, 100000), n_pages)]
    pages: list[str] = []
    for ref in refs:
        line = f"Inspection reference for this page: {ref}."
        before = filler(rng, rng.randint(0, max(0, per_page - len(line) - 40)))
        after = filler(rng, max(0, per_page - len(line) - len(before) - 2))
        lines = [*textwrap.wrap(before, 95), line, *textwrap.wrap(after, 95)]
        pages.append("\n".join(lines))
    asked = sorted(rng.sample(range(1, n_pages + 1), questions))
    rng.shuffle(asked)
    suite = Suite("pdf-page", size, seed)
    suite.files = {"handbook.pdf": make_pdf(pages)}
    suite.questions = [
        Question(
            f"pdf-page-{i + 1:03d}",
            rng.choice(QUESTIONS).format(page=page),
            refs[page - 1],
            "contains",
        )
        for i, page in enumerate(asked)
    ]
    return suite
