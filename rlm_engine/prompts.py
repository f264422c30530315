"""What the root model is told: the system prompt (two variants), the first user message and the
messages that carry REPL results back.

The default variant restates the paper's advice (Zhang, Kraska, Khattab, Appendix C) in our own
words. The small variant is for ~1.5B models, which need a worked example, an explicit invitation
to answer after each output and stop sequences so that they cannot invent the REPL's output.
"""

from __future__ import annotations

import json
from typing import Any

from rlm_engine.config import ModelSpec, RunConfig
from rlm_engine.first_look import asks_for, asks_for_date
from rlm_engine.guards import EMPTY_OUTPUT, is_empty_result
from rlm_engine.providers.registry import ProviderInfo

SMALL_MODEL_STOP = ["REPL output", "```output", "\nOutput:", "(Shown:"]
"""Where a small model starts writing the output of its own code (the prompt's examples show
theirs as "(Shown: ...)"), then answers from what it invented."""
MANY_DOCUMENTS = 20
"""From this many documents on, the strategy hint says: search them, then read the matches."""
HUGE_CORPUS_SUB_CALLS = 10
"""A corpus larger than this many sub-calls can read is huge: search, else chunk and batch."""
SMALL_MODEL_OUTPUT_CHARS = 2_500
"""A small model's 16k-token window cannot hold 20,000 characters of output per block."""
HISTORY_LIMIT_CHARS = 300_000
"""Past this size old REPL outputs are elided (about 80k tokens: fits 128k-token windows)."""
SMALL_MODEL_HISTORY_LIMIT_CHARS = 32_000
"""The same for a small model: about 9k tokens of its 16k window, the rest for its reply."""

_DEFAULT_SYSTEM = """\
You answer a question about a context that is far too large to read at once. The context is \
not in this conversation: it lives in a Python REPL as the variable `context`, and you work on it \
by writing code.

Write Python in ```repl code blocks; each block runs in the REPL and you see what it prints \
(long output is truncated, so print summaries and slices, not everything). Variables persist \
between blocks and turns. Available in the REPL:
- `context`: the data (a str, or a list of str with one entry per document).
- `llm_query(prompt) -> str`: ask a sub-model about a piece of text. It can read roughly \
{sub_budget} characters per call: give it the slice plus a precise instruction.
- `llm_query_batched(prompts) -> list[str]`: many sub-model calls at once, answers in order. \
Much faster than a loop of llm_query.
- `rlm_query(prompt, context=None) -> str`: hand a sub-problem to a recursive copy of yourself \
with its own REPL (falls back to llm_query when recursion is not allowed).
- `FINAL(answer)`: finish with this answer. `FINAL_VAR(name)`: finish with a variable's value.
- `SHOW_VARS()`: list the variables you created.
- Helpers over `context`: `peek(n=2000)` / `tail(n=2000)` (its first / last characters), \
`find(pattern, regex=False)` (case-insensitive; a list of dicts with `doc`, `offset`, `match`, \
`snippet`), `chunk(size, overlap=0)`, `chunk_documents(docs_per_chunk)`, \
`extract_after(marker, max_len=128)`; values in any layout: `dates(text)` (as YYYY-MM-DD), \
`numbers(text)`, `date_after(text, label)`, `number_after(text, label)` (the first after a \
match of the regex `label`), `tally(value, keep=None, kind="auto", year=None)` (the value \
after the label `value` in every document that mentions `keep`: prints the count, total, \
largest and a row per document; returns the rows). Sub-calls: `ask(question, text)`, \
`ask_chunks(question, chunks)` (batched, answers in order, NO_ANSWER where a chunk lacks it), \
`ask_chunks_first(question, chunks)`, `pick_first_answer(answers)`.
- Sources: in code, `FINAL(answer, sources=[passage, ...])` (or `cite(passage)` before) names \
the text of `context` the answer rests on, copied verbatim, e.g. \
`FINAL("4417", sources=[doc[i:i+300]])`.

How to work:
1. Look before you answer: print the type, length and a few short samples of `context`.
2. Use code for what code does well (search with `re`, count, slice, filter) and sub-model calls \
for what needs reading and understanding.
3. Split large material into chunks that fit a sub-model call, query the chunks (batched), keep \
the answers in variables, then aggregate them, with code or with one more sub-call.
4. Never answer from what you imagine the data says: answer only after you have seen the output \
that supports the answer.
5. When you know the answer, reply with `FINAL(your answer)` on its own line outside code, or call \
FINAL(...)/FINAL_VAR(...) in code. Do not put a FINAL line in a reply that also contains code: you \
have not seen that code's output yet.
"""

_SMALL_SYSTEM = """\
You answer questions about documents you cannot see. They are in a Python variable named \
`context` (a list of strings, one per document, or one string). You read them by writing Python \
in a ```repl block; the code runs and you are shown what it prints. Then you write another \
```repl block or, when printed output shows the answer, you reply with FINAL(answer).

Rules: write one short ```repl block per reply and stop after it. Never write the output \
yourself. Never print the whole of `context`. Answer only with what you have seen printed. \
Search with re.IGNORECASE and short stems (r"renew" also finds "Renewal" and "renews"). To show \
where an answer came from, you may answer in code with the text that holds it: \
FINAL(answer, sources=[doc[m.start() - 200: m.end() + 200]]).

Questions come in three kinds.

1. Look up one fact: search for a name from the question and print the text around it.
Question: Which port does the ship Aurora Star sail from?
```repl
import re
docs = context if isinstance(context, list) else [context]
for i, doc in enumerate(docs):
    for m in re.finditer(r"aurora star", doc, re.IGNORECASE):
        print(i, doc[max(0, m.start() - 300): m.end() + 300])
```
(Shown: 12 Vessel: Aurora Star ... Port of departure: Valletta ...)
FINAL(Valletta)

{values_example}\
3. Read a passage when a pattern cannot find the answer: find the passage with code, then \
ask the helper. llm_query(prompt) returns a helper model's answer; the helper sees only the \
prompt, so put the passage in it (at most {sub_budget} characters).
Question: Why was the Lisbon warehouse closed?
```repl
import re
docs = context if isinstance(context, list) else [context]
for i, doc in enumerate(docs):
    m = re.search(r"lisbon warehouse", doc, re.IGNORECASE)
    if m:
        passage = doc[max(0, m.start() - 1500): m.end() + 1500]
        print(llm_query("Why was the Lisbon warehouse closed? Use this text:\\n" + passage))
```
(Shown: The roof was damaged in a storm.)
FINAL(The roof was damaged in a storm.)
"""


_VALUES_WITH_HELPERS = """\
2. Count, add up, find the largest or list over many documents: call tally(value, keep). It \
reads the number after the label `value` in every document (any layout: "USD 1,200", \
"$1,200.00", "1,200 USD"; "total" also finds "amount payable"), keeps only the documents that \
mention `keep` (a name from the question; leave it out to read every document), and prints the \
count, the total, the largest and one row per document with its first words. It reads dates \
too; year=2027 keeps only that year's.
Question: What do the shipments to Oslo weigh in all?
```repl
rows = tally("weight", keep="Oslo")
```
(Shown: count: 9 then total: 14,250 then largest: 2,300 in context[12]: Shipment SH-12 ...)
FINAL(14,250 kg)
Question: Which ships arrive in 2027?
```repl
rows = tally("arrival", year=2027)
```
For "how many", answer the count; for "which", the name in the largest row, not the number; \
for "list", the names in the rows. If nothing matched, try another label or leave out keep.

"""
"""The small prompt's second kind with the value helpers (date_after, number_after)."""

_VALUES_WITH_REGEX = """\
2. Count, add up or find the largest over many documents: take the value out of every \
document with a regex into a list, print how many matched and two examples, then compute.
Question: Which shipment to Oslo is the heaviest, and what do they weigh in all?
```repl
import re
docs = context if isinstance(context, list) else [context]
rows = []
for i, doc in enumerate(docs):
    if re.search(r"oslo", doc, re.IGNORECASE):
        name = re.search(r"shipment\\W+(\\w[\\w-]*)", doc, re.IGNORECASE)
        kg = re.search(r"weight\\D{0,30}([\\d,]+)", doc, re.IGNORECASE)
        if name and kg:
            rows.append((name.group(1), int(kg.group(1).replace(",", ""))))
print(len(rows), "matched, e.g.", rows[:2])
print("heaviest:", max(rows, key=lambda r: r[1]), "total:", sum(r[1] for r in rows))
```
(Shown: 7 matched, e.g. [('SH-31', 1200), ('SH-08', 850)] then heaviest: ('SH-12', 2300) \
total: 6405)
FINAL(SH-12; 6405 kg in all)
Answer what was asked: for "which", the name, not the number; for "how many", len(rows). \
If 0 matched, print the start of a document to see how it is written, then search again.

"""
"""The same without them (`helpers_in_prompt=False`): the model writes its own regex."""


def uses_small_variant(config: RunConfig, root: ModelSpec) -> bool:
    """The prompt variant of an RLM whose root model is `root` (a child RLM's root is the sub
    model): `auto` picks the small-model prompt for the local provider, the default one otherwise.
    """
    if config.prompt_variant == "auto":
        return root.provider == "local"
    return config.prompt_variant == "small"


PEEK_CHARS = 0
"""Characters of the first document shown in the first message, unless configured (measured in
bench/README.md, "Ordinary questions")."""


def peek_chars(configured: int | None) -> int:
    return PEEK_CHARS if configured is None else configured


def history_limit_chars(*, small: bool) -> int:
    """The conversation size past which old REPL outputs are elided, unless configured."""
    return SMALL_MODEL_HISTORY_LIMIT_CHARS if small else HISTORY_LIMIT_CHARS


_SMALL_HELPERS = """
Helpers you can call in the REPL: find(words) returns the matches as dicts with "doc", "offset" \
and "snippet"; ask_chunks(question, chunks) asks the helper model about each chunk (make them \
with chunk(8000) or chunk_documents(5)) and returns its answers in order, NO_ANSWER where a \
chunk does not hold the answer; pick_first_answer(answers) gives the first real answer. Also \
peek(n), tail(n), ask(question, text), ask_chunks_first(question, chunks), extract_after(marker), \
dates(text), numbers(text), date_after(text, label), number_after(text, label).

Example with find.
```repl
for m in find("vault"):
    print(m["doc"], m["snippet"])
```
Example with ask_chunks, when a search finds nothing useful.
```repl
answers = ask_chunks("What is the password for the vault?", chunk(8000))
print(pick_first_answer(answers))
```
"""


def system_prompt(
    *, small: bool, sub_budget_chars: int = ProviderInfo.sub_call_chars, helpers: bool = True
) -> str:
    """The system prompt of a variant; `helpers=False` leaves out the lines on the REPL helpers
    (they are in the REPL either way), to measure what they buy."""
    template = _SMALL_SYSTEM if small else _DEFAULT_SYSTEM
    values = _VALUES_WITH_HELPERS if helpers else _VALUES_WITH_REGEX
    text = template.format(sub_budget=f"{sub_budget_chars:,}", values_example=values)
    if not helpers:
        return "\n".join(line for line in text.split("\n") if "Helpers over" not in line)
    return text + _SMALL_HELPERS if small else text


def stop_sequences(*, small: bool) -> list[str] | None:
    return list(SMALL_MODEL_STOP) if small else None


def strategy_hint(context_meta: dict[str, Any], *, sub_budget_chars: int) -> str:
    """One line on the strategy that suits the corpus's size (rlm-rs's dynamic prompting): a
    corpus one sub-call can read is read; many documents are searched, then read; a huge one is
    searched, else chunked and batched."""
    total = int(context_meta.get("total_chars") or 0)
    n_docs = int(context_meta.get("n_documents") or 1)
    if total <= sub_budget_chars:
        return (
            f"Strategy: `context` is small ({total:,} characters): print it, or ask() about it "
            "in one sub-call, and answer from what you read."
        )
    if total > HUGE_CORPUS_SUB_CALLS * sub_budget_chars:
        return (
            f"Strategy: `context` is huge ({total:,} characters): search it with find() for "
            "words of the question; if that finds nothing, split it with chunk() and ask the "
            "chunks with ask_chunks() in batches, then combine the answers."
        )
    if n_docs >= MANY_DOCUMENTS:
        return (
            f"Strategy: {n_docs:,} documents: search them with find() for words of the question, "
            "then read the documents that match (print them, or ask() about them)."
        )
    return (
        "Strategy: search `context` with find() for words of the question and print the text "
        "around the matches; ask() a sub-model about passages that need reading."
    )


def first_user_message(
    question: str,
    context_meta: dict[str, Any],
    existing_vars: dict[str, str] | None = None,
    hint: str | None = None,
    peek: str | None = None,
    look: tuple[str, str, str] | None = None,
) -> str:
    """The question plus a description of `context` and, when given, the strategy hint for its
    size; of its content, at most `peek` (the start of the first document, when configured) and
    the engine's first look (its code and output, rlm_engine.first_look)."""
    lines = [
        f"Question: {question}",
        "",
        "The REPL variable `context` holds: " + json.dumps(context_meta, ensure_ascii=False),
    ]
    if hint:
        lines += ["", hint]
    if peek:
        lines += ["", f"The first document begins (first {len(peek):,} characters):", peek]
    if existing_vars:
        names = ", ".join(f"{name} ({kind})" for name, kind in existing_vars.items())
        lines += [
            "",
            f"Variables from earlier questions in this session are still defined: {names}",
        ]
    if look is None:
        lines += ["", "Start by writing a ```repl block to look at `context`."]
        return "\n".join(lines)
    code, output, kind = look
    shown = FIRST_LOOK.format(code=code.rstrip(), output=output.rstrip() or "(no output)")
    follows = {"aggregate": FIRST_LOOK_AGGREGATE, "tally": FIRST_LOOK_TALLY}
    if kind == "tally":
        answer = TALLY_ANSWERS[asks_for(question)]
    else:
        answer = FULL_DATE if asks_for_date(question) else ""
    follow = follows.get(kind, FIRST_LOOK_FACT).format(question=question, answer=answer)
    lines += ["", shown, "", follow]
    return "\n".join(lines)


FIRST_LOOK = """\
To start you off, the engine ran this block:
```repl
{code}
```
REPL output:
{output}"""

FIRST_LOOK_FACT = (
    "If this output shows the answer to the question ({question}), reply FINAL(answer), giving "
    "only what was asked (a name, a number, a date), not a sentence{answer}. Otherwise write "
    "one ```repl block that searches again with other words."
)
FULL_DATE = ": the whole date, with its day, month and year"

FIRST_LOOK_TALLY = (
    "The engine read that value from every document. If these rows are what the question "
    "({question}) asks about, {answer} If they are not, write one ```repl block that calls "
    "tally() with another label or keep."
)
TALLY_ANSWERS = {
    "count": "it asks how many: reply FINAL(the number on the count line), nothing else.",
    "total": "it asks for a sum: reply FINAL(the number on the total line), nothing else.",
    "which": "it asks which: reply FINAL(the name or code in the first row, the largest), not a "
    "number.",
    "list": "it asks for a list: reply FINAL(the names or codes of all the rows, separated by "
    "commas), nothing else.",
    None: "reply FINAL(the answer from this output).",
}
"""What the tally look's note says to answer, by what the question asks for (asks_for)."""

FIRST_LOOK_AGGREGATE = (
    "This output shows at most three matches of each word: it is not the answer. The question "
    "counts, adds up, compares or lists, so write the code: one ```repl block, like example 2, "
    "that reads the value asked for from every document that matches. Do not write what it "
    "will print: the REPL runs it and shows you."
)


def repl_results_message(
    outputs: list[str],
    notes: list[str],
    *,
    small: bool,
    context_read: bool = True,
    question: str | None = None,
) -> str:
    """One user message with the output of every block of the last reply, then any notes.

    A small model that has not read `context` yet is not invited to answer: it would take the
    helper's "I cannot know that" for an answer.
    """
    parts = []
    for index, output in enumerate(outputs, start=1):
        output = shown_output(output, small=small)
        shown = output if output.strip() else "(no output)"
        parts.append(f"REPL output of block {index}:\n{shown}")
    parts += notes
    if small and not context_read:
        parts.append(SEARCH_CONTEXT_NEXT)
    elif all(is_empty_result(output) for output in outputs):
        # Empty output never invites a FINAL: small models answer FINAL(0) from a search that
        # looked for the wrong word.
        parts.append(EMPTY_OUTPUT)
    elif small:
        # the question again: a small model answers with the last value it printed, whichever
        # was asked ("4 agreements, 3789500 kg" for how many renew; a name for "on what date")
        asked = f" ({question})" if question else ""
        parts.append(
            f"If this output answers the question{asked}, reply with FINAL(answer), giving "
            "what was asked. Otherwise write one more ```repl block."
        )
    else:
        parts.append("Continue: write more ```repl code, or give your answer with FINAL(...).")
    return "\n\n".join(parts)


def shown_output(output: str, *, small: bool) -> str:
    """A block's output as the model reads it (clipped for a small model's window)."""
    return clip(output, SMALL_MODEL_OUTPUT_CHARS) if small else output


def clip(text: str, limit: int) -> str:
    """Head and tail of `text` within `limit` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    head = limit * 2 // 3
    return f"{text[:head]}\n... [{cut:,} characters truncated] ...\n{text[-(limit - head) :]}"


NO_CODE_NO_FINAL = (
    "Your reply had no ```repl code block and no FINAL(...) line. Write a ```repl block to work "
    "on `context`, or reply with FINAL(answer) if you know the answer."
)

CONTEXT_NOT_READ = (
    "Note: your code did not read `context`, so it cannot have found the answer, and the "
    "llm_query helper sees only the prompt you give it."
)

SEARCH_CONTEXT_NEXT = (
    "Now write one ```repl block that searches `context` for words from the question and prints "
    "the text around each match."
)

FINAL_WITH_CODE_DISCARDED = (
    "Note: your FINAL(...) line was ignored because the same reply also contained code whose "
    "output you had not seen yet. Read the output above, then answer with FINAL(...)."
)

HISTORY_ELIDED = (
    "The conversation passed {limit:,} characters: the oldest REPL outputs were replaced by a "
    "note saying so (max_history_chars). The model's code and the REPL's variables are kept."
)

FORCED_ANSWER = (
    "Stop: no more code will run (the budget is spent: {reason}). Answer the question now, "
    "from what the REPL printed so far, with FINAL(answer) holding the answer itself. The "
    "question was: {question}"
)
"""The question comes last: a small model asked for "your best answer" without it copied the
note's first sentence into FINAL and answered "The budget for this run is used up"."""


def final_var_missing(name: str) -> str:
    return (
        f"FINAL_VAR({name}) failed: there is no variable named {name!r} in the REPL. "
        "Create it in a ```repl block first, or answer with FINAL(answer)."
    )
