"""Guards: what keeps a model from answering from nothing or going round in circles.

- `Evidence`: the REPL output a model has seen, and whether a FINAL value appears in it. A small
  model answers `FINAL(0)` after a search that printed nothing, or a number it never saw; such an
  answer is refused (the model is asked for evidence) a few times, then accepted and marked
  unsupported.
- `Repeats`: the same code block or the same sub-call prompt a second time in one RLM.
- `echoes_question`: an answer made of the question's own words ("access" for "What is the saffron
  team's access code?"): it names what was asked about, not the value; refused like an answer
  without evidence, and the model's next plain reply is taken as the value.
- `question_only_prompt`: an `llm_query` that sends the helper the question and nothing from
  `context` (the helper cannot see `context`, so it can only guess).

Configuration lives in `rlm_engine.config.GuardConfig`; the messages the model reads live here,
beside the checks they explain.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from rlm_engine.config import GuardConfig

_MONTHS = [
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
]  # fmt: skip
_COMMON = (
    "a an and are as at be by for from has have in is it its of on or that the their there "
    "this to was were which who with what when where how many much per all any each total "
    "answer final none not no yes usd eur gbp chf jpy dollars euros kg km items days"
)
_STOPWORDS = frozenset(_COMMON.split(" "))
_NUMBER = re.compile(r"(?<![\w.])-?\d{1,3}(?:[,\u202f\u00a0' ]\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
EMPTY_RESULTS = {"", "0", "[]", "{}", "()", "set()", "none", "''", '""', "0.0", "false"}


def normalise(text: str) -> str:
    """Lower case, one space between words, no thousands separators inside numbers."""
    text = re.sub(r"(?<=\d)[,\u202f\u00a0'](?=\d{3}\b)", "", text.lower())
    return re.sub(r"\s+", " ", text).strip()


def numbers(text: str) -> set[float]:
    """The numbers written in `text` (1,098,000 and 1098000 alike; a date's parts one by one)."""
    found: set[float] = set()
    for match in _NUMBER.finditer(text):
        raw = re.sub(r"[,\u202f\u00a0' ]", "", match.group())
        try:
            found.add(abs(float(raw)))
        except ValueError:
            continue
    return found


def _answer_terms(answer: str, question: str) -> tuple[set[float], list[str]]:
    """What an answer claims: its numbers (month names count as their number) and its words
    that are neither common words nor taken from the question."""
    text = normalise(answer)
    month_numbers = {float(i + 1) for i, m in enumerate(_MONTHS) if re.search(rf"\b{m}\b", text)}
    asked = set(_WORD.findall(normalise(question)))
    words = [
        w
        for w in _WORD.findall(text)
        if len(w) > 2
        and w not in _STOPWORDS
        and w not in asked
        and w.rstrip("s") not in asked
        and w not in _MONTHS
    ]
    return numbers(text) | month_numbers, words


_YES_NO = re.compile(r"(is|are|was|were|do|does|did|can|could|has|have|had|will|would|should)\b")


def echoes_question(answer: str, question: str) -> bool:
    """An answer whose words (four in five, with no number) are the question's own: the model
    copied what was asked about instead of the value. Choice and yes/no questions are exempt:
    their answer may well be a word of the question."""
    asked_text = normalise(question)
    text = normalise(answer)
    if re.search(r"\d", text) or " or " in f" {asked_text} " or _YES_NO.match(asked_text):
        return False
    asked = set(_WORD.findall(asked_text))
    words = [w for w in _WORD.findall(text) if w not in _STOPWORDS]
    if not words:
        return False
    copied = sum(1 for w in words if w in asked or w.rstrip("s") in asked)
    return copied * 5 >= len(words) * 4


def list_items(answer: str) -> list[str]:
    """The items of an answer written as a list ("a, b and c", "['a', 'b']", one per line)."""
    text = answer.strip().strip("[](){}")
    parts = re.split(r"\s*(?:\n|;|,(?!\d{3}\b)|\band\b)\s*", text)
    items = [p.strip(" '\"-*•.") for p in parts if p.strip(" '\"-*•.")]
    written_as_list = answer.strip()[:1] in "[({" or "\n" in answer.strip()
    if not written_as_list and any(len(item.split()) > 5 for item in items):
        return [answer]  # a sentence with commas is prose, not a list
    return items


class Evidence:
    """Everything the model has been shown by the REPL in one RLM, searchable for an answer."""

    def __init__(self, question: str) -> None:
        self.question = question
        self._seen: list[str] = []
        self._numbers: set[float] = set()
        self._words: set[str] = set()
        self.refusals = 0

    def saw(self, output: str) -> None:
        """Record output the model was shown (after clipping: what it read, not what ran)."""
        text = normalise(output)
        if not text:
            return
        self._seen.append(text)
        self._numbers |= numbers(text)
        self._words |= set(_WORD.findall(text))

    def supports(self, answer: str) -> bool:
        """Whether `answer` appears in what the model saw: as a whole, or each item of a list,
        or every number it states (a date's month written as a name or a number) and most of
        its own words (those not in the question): two thirds, or half beside seen numbers."""
        text = normalise(answer).strip(" .'\"`")
        if not text:
            return False
        if self._appears(text):
            return True
        items = list_items(answer)
        if len(items) > 1:
            return all(self._term_supported(item) for item in items)
        return self._term_supported(answer)

    def _appears(self, text: str) -> bool:
        """`text` occurs in what was seen as whole words ("0" is not in "2027")."""
        pattern = re.compile(rf"(?<!\w){re.escape(text)}(?!\w)")
        return any(pattern.search(seen) for seen in self._seen)

    def _term_supported(self, answer: str) -> bool:
        text = normalise(answer).strip(" .'\"`")
        if text and self._appears(text):
            return True
        answer_numbers, words = _answer_terms(answer, self.question)
        asked = numbers(self.question)
        if any(n not in self._numbers and n not in asked for n in answer_numbers):
            return False
        if not words:
            return bool(answer_numbers)
        known = sum(1 for w in words if w in self._words or w.rstrip("s") in self._words)
        if answer_numbers:  # its numbers were all seen: half its words may be the model's own
            return known * 2 >= len(words)
        return known * 3 >= len(words) * 2


def is_empty_result(output: str) -> bool:
    """Output that says the code found nothing: nothing printed, or only 0, [], None and such."""
    lines = [line.strip().lower() for line in output.strip().splitlines() if line.strip()]
    return all(line in EMPTY_RESULTS for line in lines)


class Repeats:
    """Code blocks and sub-call prompts already seen in one RLM (whitespace does not count)."""

    def __init__(self) -> None:
        self._code: dict[str, tuple[int, str]] = {}  # code -> (iteration, output) it last gave
        self._prompts: dict[str, int] = {}  # normalised prompt -> times sent
        self.repeated_prompts: list[str] = []  # prompts sent again since the last `take`

    def same_code(self, code: str, output: str, iteration: int) -> int | None:
        """The earlier iteration in which this code printed this same output, or None.

        Code run again is not a loop by itself (the variables it reads may have changed); the
        same code printing the same thing is.
        """
        key = _squash(code)
        earlier = self._code.get(key)
        self._code[key] = (iteration, output)
        if earlier is not None and earlier[1] == output:
            return earlier[0]
        return None

    def prompt_sent(self, prompt: str) -> None:
        key = _squash(prompt)
        self._prompts[key] = self._prompts.get(key, 0) + 1
        if self._prompts[key] == 2:
            self.repeated_prompts.append(prompt)

    def take_repeated_prompts(self) -> list[str]:
        taken, self.repeated_prompts = self.repeated_prompts, []
        return taken


class RunGuards:
    """The guards of one RLM, as configured for its prompt variant."""

    def __init__(self, config: GuardConfig, question: str, *, small: bool) -> None:
        self.config = config
        wanted = config.require_evidence
        self.require_evidence = small if wanted is None else wanted
        self.evidence = Evidence(question)
        self.repeats = Repeats()
        self._codes_seen: list[str] = []  # code of blocks whose output the model saw, not empty
        self.unsupported = False  # an answer was accepted without evidence
        self.value_asked = False  # the last refusal asked for the value itself: a plain reply is it

    def shown(self, code: str, output: str) -> None:
        """The model was shown this block's output (as clipped for it)."""
        self.evidence.saw(output)
        if not is_empty_result(output):
            self._codes_seen.append(code)

    def cited(self, text: str, context: str | Iterable[str] | None) -> None:
        """A citation (`cite`, `FINAL(..., sources=[...])`) that is verbatim in `context` is
        evidence, although the model has not seen it printed: the user sees it as a source."""
        quoted = normalise(text)
        if len(quoted) < 8 or context is None:
            return
        docs = [context] if isinstance(context, str) else context
        if any(quoted in normalise(doc) for doc in docs):
            self.evidence.saw(text)

    def judge_final(self, answer: str, variable: str | None = None) -> str | None:
        """None to accept the answer; else the note that refuses it. An answer without evidence
        is refused `evidence_refusals` times, then accepted and marked unsupported.

        Evidence: the answer appears in output the model saw, or it is the value of a variable
        (FINAL_VAR) named in a block whose output the model saw. An answer that only repeats
        the question's words is refused the same way, whatever the output showed.
        """
        self.value_asked = False
        if not self.require_evidence:
            return None
        if echoes_question(answer, self.evidence.question):
            if not self._refusal_left():
                return None
            self.value_asked = True
            return echoed_question(answer)
        if self.evidence.supports(answer):
            return None
        if variable and any(re.search(rf"\b{re.escape(variable)}\b", c) for c in self._codes_seen):
            return None
        if not self._refusal_left():
            return None
        return unsupported_final(answer, self.config.evidence_refusals - self.evidence.refusals)

    def _refusal_left(self) -> bool:
        """Count one more refusal of an answer without evidence, if any is left; else the answer
        is to be accepted, and it is marked unsupported."""
        if self.evidence.refusals < self.config.evidence_refusals:
            self.evidence.refusals += 1
            return True
        self.unsupported = True
        return False

    def take_value_asked(self) -> bool:
        """Whether the last refusal asked for the value itself (once: the next reply's only)."""
        asked, self.value_asked = self.value_asked, False
        return asked

    def judge_forced(self, answer: str) -> None:
        """The forced answer cannot be refused: it is only marked when nothing supports it."""
        if self.require_evidence and answer and not self.evidence.supports(answer):
            self.unsupported = True

    def after_block(self, code: str, output: str, iteration: int) -> list[str]:
        """Notes on a block that just ran: the same code printing the same thing again."""
        if not self.config.note_repeats:
            return []
        earlier = self.repeats.same_code(code, output, iteration)
        return [] if earlier is None else [repeated_code(earlier)]

    def prompt_notes(self) -> list[str]:
        """Notes on the sub-call prompts the last reply's code sent a second time."""
        taken = self.repeats.take_repeated_prompts()
        return [repeated_prompt(p) for p in taken] if self.config.note_repeats else []

    def refuses_prompt(
        self, prompt: str, question: str, context: str | Iterable[str] | None
    ) -> bool:
        """Whether an llm_query prompt is refused (and counts it for the repeat notes)."""
        if self.config.refuse_question_only and question_only_prompt(prompt, question, context):
            return True
        self.repeats.prompt_sent(prompt)
        return False


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def question_only_prompt(prompt: str, question: str, context: str | Iterable[str] | None) -> bool:
    """A prompt that is (almost) the question and holds no text from `context`."""
    p, q = normalise(prompt), normalise(question)
    if not p or not q:
        return False
    similar = difflib.SequenceMatcher(None, p, q).ratio() >= 0.75
    extra = p.replace(q, " ").strip() if q in p else p
    if not similar and not (q in p and len(extra) < 80):
        return False
    return not _holds_context_text(prompt, context)


def _holds_context_text(prompt: str, context: str | Iterable[str] | None) -> bool:
    """Whether any 24-character run of the prompt occurs in `context` (case as written)."""
    if context is None:
        return False
    docs = [context] if isinstance(context, str) else list(context)
    step = 12
    pieces = {prompt[i : i + 24] for i in range(0, max(1, len(prompt) - 23), step)}
    return any(piece.strip() and piece in doc for doc in docs for piece in pieces)


# -- what the model is told -----------------------------------------------------------------


def unsupported_final(answer: str, refusals_left: int) -> str:
    shown = answer if len(answer) <= 200 else answer[:200] + "..."
    return (
        f"Your answer FINAL({shown}) was not accepted: it appears in no REPL output you have "
        "seen. Show the evidence first: write a ```repl block that prints the text of `context` "
        "that holds the answer (or the values your code computed it from: how many documents "
        "matched and two examples). Then answer with FINAL(...) using what was printed. "
        f"({refusals_left} more unsupported answer(s) will be refused; after that it is accepted "
        "and marked as unsupported.)"
    )


def echoed_question(answer: str) -> str:
    shown = answer if len(answer) <= 200 else answer[:200] + "..."
    # Small models answer this in plain text, not in FINAL(...): the engine takes that reply.
    return (
        f"Your answer FINAL({shown}) only repeats words of the question. Give the value the "
        "question asks for, as the output shows it: reply FINAL(value)."
    )


def accepted_unsupported(answer: str) -> str:
    shown = answer if len(answer) <= 200 else answer[:200] + "..."
    return (
        f"The answer {shown!r} was accepted without evidence: it appears in no REPL output the "
        "model saw. It is marked unsupported."
    )


EMPTY_OUTPUT = (
    "Your code printed nothing (or only 0/[]/None): that is not an answer. If it was a search, "
    "it found nothing, and the words may be written differently in `context`. Print a short "
    "sample to see how the documents are written (e.g. print(context[0][:500])), then search "
    "again with other forms of the words: re.IGNORECASE for upper/lower case, singular and "
    "plural, a shorter stem, a synonym."
)


def repeated_code(iteration: int) -> str:
    return (
        f"This code block is the same as the one you ran in iteration {iteration}, and it "
        "printed the same thing: running it again teaches you nothing. Do something different: "
        "search for other words, print other parts of `context`, or answer from what you have "
        "seen."
    )


def repeated_prompt(prompt: str) -> str:
    shown = prompt if len(prompt) <= 120 else prompt[:120] + "..."
    return (
        f"You sent llm_query the same prompt again ({shown!r}): the helper gives the same "
        "answer to the same prompt. Send it different text from `context`, or use what it "
        "already answered."
    )


QUESTION_ONLY_REFUSED = (
    "llm_query refused: the prompt is the question itself and holds no text from `context`. "
    "The helper model cannot see `context`, so it could only guess. Search `context` with code "
    "first, then put the passage in the prompt, e.g. llm_query('Answer from this text: ' "
    "+ question + '\\n' + context[i][:5000])."
)
