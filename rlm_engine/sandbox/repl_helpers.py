"""REPL helpers over `context`, with pyrlm-runtime's names so that prompts and habits carry over.

Standalone and stdlib-only, like worker.py, which loads this file by path and calls `install`.
The helpers read the REPL's current `context` each time (a str, or a list of str, one per
document). The ones that ask a model go through the REPL's own `llm_query` / `llm_query_batched`,
so the host counts them against the same budgets, with the same events and costs.

    peek(n=2000) tail(n=2000)              the corpus's first / last n characters
    find(pattern, regex=False)             matches: document index, offset, snippet around each
    chunk(size, overlap=0)                 the corpus cut into pieces of `size` characters
    chunk_documents(docs_per_chunk)        the documents, grouped
    ask(question, text)                    one sub-call about a piece of text
    ask_chunks(question, chunks)           one sub-call per chunk, batched, answers in order
    ask_chunks_first(question, chunks)     chunks in order until one answers (None if none)
    pick_first_answer(answers)             the first answer that is one (not NO_ANSWER)
    extract_after(marker, max_len=128)     the text after the first `marker`, to the line's end
"""

from __future__ import annotations

import re
from collections.abc import Callable

NAMES = (
    "peek",
    "tail",
    "find",
    "chunk",
    "chunk_documents",
    "ask",
    "ask_chunks",
    "ask_chunks_first",
    "pick_first_answer",
    "extract_after",
)
NO_ANSWER = "NO_ANSWER"
DOC_SEPARATOR = "\n\n"
MAX_MATCHES = 100
FIRST_BATCH = 4  # ask_chunks_first asks this many chunks at once, in order
_NOT_ANSWERS = re.compile(
    r"^(no_answer|none|n/?a|unknown|not (found|mentioned|stated|given|specified)"
    r"|the (snippet|text) does not (say|mention|contain|state)"
    r"|i (don't|do not|cannot|can't) (know|find|tell|determine))",
    re.IGNORECASE,
)


def question_prompt(question: str, text: str) -> str:
    """What `ask` sends the sub model (the engine's fallback sends the same)."""
    return (
        f"Question: {question}\nSnippet:\n{text}\n\n"
        f"Answer the question from the snippet alone, briefly. If the snippet does not "
        f"hold the answer, reply {NO_ANSWER}."
    )


def is_answer(answer: object) -> bool:
    """Not empty, not NO_ANSWER or "not found", not the error string of a failed sub-call."""
    if answer is None:
        return False
    text = str(answer).strip()
    if not text or text.startswith("Error:") or _NOT_ANSWERS.match(text):
        return False
    return not (NO_ANSWER in text.upper() and len(text) < len(NO_ANSWER) + 20)


def install(ns: dict, llm_query: Callable, llm_query_batched: Callable) -> None:
    """Put the helpers into the REPL namespace `ns`."""

    def documents() -> list[str]:
        context = ns.get("context")
        if context is None:
            return []
        if isinstance(context, str):
            return [context]
        if isinstance(context, (list, tuple)):
            return [d if isinstance(d, str) else str(d) for d in context]
        return [str(context)]

    def corpus() -> str:
        return DOC_SEPARATOR.join(documents())

    def peek(n: int = 2000) -> str:
        """The first `n` characters of the corpus (documents joined by a blank line)."""
        return corpus()[: max(0, int(n))]

    def tail(n: int = 2000) -> str:
        """The last `n` characters of the corpus (documents joined by a blank line)."""
        n = max(0, int(n))
        return corpus()[-n:] if n else ""

    def find(
        pattern: str, regex: bool = False, width: int = 150, max_matches: int = MAX_MATCHES
    ) -> list[dict]:
        """Where `pattern` occurs, case-insensitively: a list of {"doc", "offset", "match",
        "snippet"} (document index, offset in that document, the text matched, `width`
        characters either side), at most `max_matches`. `regex=True` reads it as a regular
        expression; otherwise it is literal text."""
        if not isinstance(pattern, str) or not pattern:
            raise ValueError("find needs a non-empty pattern (a string)")
        compiled = re.compile(pattern if regex else re.escape(pattern), re.IGNORECASE)
        found: list[dict] = []
        for index, doc in enumerate(documents()):
            for m in compiled.finditer(doc):
                if m.end() == m.start():
                    continue  # an empty match says nothing
                snippet = doc[max(0, m.start() - width) : m.end() + width]
                found.append(
                    {"doc": index, "offset": m.start(), "match": m.group(), "snippet": snippet}
                )
                if len(found) >= max_matches:
                    return found
        return found

    def chunk(size: int, overlap: int = 0) -> list[str]:
        """The corpus (documents joined by a blank line) in pieces of `size` characters, each
        starting `size - overlap` after the previous one."""
        size, overlap = int(size), int(overlap)
        if size < 1 or not 0 <= overlap < size:
            raise ValueError("chunk needs size >= 1 and 0 <= overlap < size")
        text = corpus()
        step = size - overlap
        return [text[i : i + size] for i in range(0, max(len(text) - overlap, 1), step) if text]

    def chunk_documents(docs_per_chunk: int = 1) -> list[str]:
        """The documents in groups of `docs_per_chunk`, each group joined by a blank line."""
        k = int(docs_per_chunk)
        if k < 1:
            raise ValueError("chunk_documents needs docs_per_chunk >= 1")
        docs = documents()
        return [DOC_SEPARATOR.join(docs[i : i + k]) for i in range(0, len(docs), k)]

    def ask(question: str, text: str) -> str:
        """One sub-call: the sub model answers `question` from `text` (or says NO_ANSWER)."""
        return llm_query(question_prompt(str(question), str(text)))

    def ask_chunks(question: str, chunks: list) -> list[str]:
        """One sub-call per chunk, run concurrently; the answers in the chunks' order."""
        if isinstance(chunks, str):
            chunks = [chunks]
        return llm_query_batched([question_prompt(str(question), str(c)) for c in chunks])

    def ask_chunks_first(question: str, chunks: list) -> str | None:
        """The chunks in order (a few at a time) until one holds the answer; None if none."""
        if isinstance(chunks, str):
            chunks = [chunks]
        chunks = list(chunks)
        for start in range(0, len(chunks), FIRST_BATCH):
            found = pick_first_answer(ask_chunks(question, chunks[start : start + FIRST_BATCH]))
            if found is not None:
                return found
        return None

    def pick_first_answer(answers: list) -> str | None:
        """The first answer that is one: not empty, not NO_ANSWER or "not found", not an
        error string of a failed sub-call; None if there is none."""
        if isinstance(answers, str):
            answers = [answers]
        for answer in answers or []:
            if is_answer(answer):
                return str(answer).strip()
        return None

    def extract_after(marker: str, max_len: int = 128) -> str | None:
        """The text after the first `marker` (case-insensitive) in the corpus, up to the end of
        its line and at most `max_len` characters, stripped; None if the marker is nowhere."""
        if not isinstance(marker, str) or not marker:
            raise ValueError("extract_after needs a non-empty marker (a string)")
        compiled = re.compile(re.escape(marker), re.IGNORECASE)
        for doc in documents():
            m = compiled.search(doc)
            if m is not None:
                after = doc[m.end() : m.end() + max(0, int(max_len))]
                return after.split("\n", 1)[0].strip()
        return None

    for fn in (
        peek,
        tail,
        find,
        chunk,
        chunk_documents,
        ask,
        ask_chunks,
        ask_chunks_first,
        pick_first_answer,
        extract_after,
    ):
        ns[fn.__name__] = fn
