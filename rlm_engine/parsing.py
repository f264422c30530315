"""Reading a root model's reply: its ```repl code blocks and its FINAL(...)/FINAL_VAR(...) line.

Pure functions over strings, tested without fixtures.

Fences follow Markdown: a fence opens and closes at the start of a line (optionally indented),
so a ``` inside code (`doc.split('```')`) does not end a block. The info word after the opening
fence decides what a block is: repl or python code to run, or anything else (text, json, a bare
fence), which is neither code nor a place where a FINAL line counts.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Literal

# ```repl is the contract; small models often write ```python for the same thing, so we take both,
# in any case (```Python, ```REPL).
CODE_LANGUAGES = frozenset({"repl", "python", "py"})
_FENCE_OPEN = re.compile(r"^([ \t]*)(`{3,})[ \t]*([^`\s]*)[^`]*$")
_FENCE_CLOSE = re.compile(r"^[ \t]*(`{3,})[ \t]*$")
# Case-insensitive: small models write `Final(x)`; at the start of a line it is never prose.
_FINAL_START = re.compile(r"^[ \t]*(FINAL_VAR|FINAL)\(", re.MULTILINE | re.IGNORECASE)
_STRING_PREFIXES = frozenset({"r", "u", "f", "b", "br", "rb", "fr", "rf"})


@dataclass(frozen=True)
class FinalDirective:
    """A `FINAL(answer)` or `FINAL_VAR(name)` written as a line of the reply, outside code."""

    kind: Literal["FINAL", "FINAL_VAR"]
    value: str  # the answer for FINAL, the variable's name for FINAL_VAR


@dataclass(frozen=True)
class _Segment:
    """A run of whole lines of a reply: prose, a code block, or another fenced block."""

    kind: Literal["prose", "code", "fence"]
    text: str  # for blocks: the lines between the fences
    raw: str  # the lines as written, fences included
    closed: bool = True


def find_code_blocks(text: str) -> list[str]:
    """The code of every ```repl block, in order. An unclosed last block counts too: the model was
    cut off by a stop sequence or a token limit and its code is still worth running."""
    blocks = [s.text if s.closed else s.text.rstrip() for s in _segments(text) if s.kind == "code"]
    return [block for block in blocks if block.strip()]


def bare_code(text: str) -> str | None:
    """The reply itself when it is nothing but Python with no fence around it, else None.

    Small models often forget the fence; a reply that parses as code and does something (more
    than a lone name or literal) is taken as one block. Prose does not parse.
    """
    stripped = text.strip()
    if not stripped or "```" in stripped:
        return None
    try:
        tree = ast.parse(stripped)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    trivial = (ast.Constant, ast.Name)
    if all(isinstance(node, ast.Expr) and isinstance(node.value, trivial) for node in tree.body):
        return None
    return stripped


def unfenced_code(text: str) -> str | None:
    """The Python a reply opens with when its fences are missing, else None: the lines before a
    FINAL line (or the whole reply), less a stray closing fence. Small models write
    `rows = tally(...)` then `FINAL(14)`, or code and a closing fence with no opening one."""
    final = _FINAL_START.search(text)
    lines = (text[: final.start()] if final else text).rstrip().split("\n")
    if lines and _FENCE_CLOSE.match(lines[-1]):
        lines.pop()
    return bare_code("\n".join(lines))


def unlabelled_code(text: str) -> str | None:
    """The body of the first fence without a language (```) that is Python doing something, else
    None. Small models drop the `repl` tag; such a fence in a reply with no other code is code."""
    for segment in _segments(text):
        if segment.kind != "fence":
            continue
        opening = _FENCE_OPEN.match(segment.raw.split("\n", 1)[0])
        if opening is not None and not opening.group(3) and bare_code(segment.text):
            return segment.text
    return None


def strip_code_blocks(text: str) -> str:
    """The reply without its code blocks (other fenced blocks stay: they may hold the answer);
    a line break stands where each was, so the prose around it stays two paragraphs."""
    return "".join("\n" if s.kind == "code" else s.raw for s in _segments(text))


def find_final(text: str) -> FinalDirective | None:
    """The first FINAL/FINAL_VAR line outside fenced blocks, or None.

    Parentheses are matched with awareness of string literals, so `FINAL(f(x) = "(a)")` keeps its
    inner parentheses; an apostrophe inside a word (`Bob's`) is not a quote; an answer may span
    lines; an unclosed `FINAL(` takes the rest of the reply. A Python string literal as the
    whole argument is unquoted: `FINAL("x")` yields `x`.
    """
    prose = "".join(s.text for s in _segments(text) if s.kind == "prose")
    match = _FINAL_START.search(prose)
    if match is None:
        return None
    kind = match.group(1).upper()
    inner = _without_sources(_balanced_argument(prose, match.end()))
    value = _unquote(inner.strip())
    if kind == "FINAL_VAR":
        value = value.strip().strip("'\"`")
    return FinalDirective(kind=kind, value=value)  # type: ignore[arg-type]


def without_final(text: str) -> str:
    """The reply without its code blocks and without its FINAL/FINAL_VAR directive: the prose
    that stands for an answer when the directive gives none (a FINAL_VAR of a missing name)."""
    parts: list[str] = []
    removed = False
    for segment in _segments(text):
        if segment.kind == "code":
            continue
        match = None if removed or segment.kind != "prose" else _FINAL_START.search(segment.text)
        if match is None:
            parts.append(segment.raw)
            continue
        end = _argument_end(segment.text, match.end())
        parts.append(segment.text[: match.start()] + segment.text[end + 1 :])
        removed = True
    return "".join(parts)


def _segments(text: str) -> list[_Segment]:
    """The reply cut into prose and fenced blocks, line by line (CRLF read as LF)."""
    segments: list[_Segment] = []
    prose: list[str] = []
    lines = re.findall(r"[^\n]*\n|[^\n]+\Z", text.replace("\r\n", "\n"))
    i = 0
    while i < len(lines):
        opening = _FENCE_OPEN.match(lines[i].rstrip("\n"))
        if opening is None:
            prose.append(lines[i])
            i += 1
            continue
        if prose:
            segments.append(_Segment("prose", "".join(prose), "".join(prose)))
            prose = []
        indent, ticks, language = opening.groups()
        kind: Literal["code", "fence"] = "code" if language.lower() in CODE_LANGUAGES else "fence"
        inner, end, closed = _fenced_body(lines, i + 1, len(indent), len(ticks))
        segments.append(_Segment(kind, inner, "".join(lines[i:end]), closed))
        i = end
    if prose:
        segments.append(_Segment("prose", "".join(prose), "".join(prose)))
    return segments


def _fenced_body(lines: list[str], start: int, indent: int, ticks: int) -> tuple[str, int, bool]:
    """(the block's text, the index after it, whether it was closed) for a block whose first
    line is `start`. It closes at a line of `ticks` or more backticks and nothing else; an
    unclosed block runs to the end of the reply, as in Markdown."""
    for end in range(start, len(lines)):
        closing = _FENCE_CLOSE.match(lines[end].rstrip("\n"))
        if closing and len(closing.group(1)) >= ticks:
            body = "".join(_dedent(line, indent) for line in lines[start:end])
            return body.removesuffix("\n"), end + 1, True
    return "".join(_dedent(line, indent) for line in lines[start:]), len(lines), False


def _dedent(line: str, width: int) -> str:
    """`line` without up to `width` leading blanks: the indentation of its fence."""
    cut = 0
    while cut < width and cut < len(line) and line[cut] in " \t":
        cut += 1
    return line[cut:]


def _balanced_argument(text: str, start: int) -> str:
    """Text from `start` up to the parenthesis closing the one just before it."""
    end = _argument_end(text, start)
    return text[start:end]


def _argument_end(text: str, start: int) -> int:
    """Where the argument starting at `start` ends: at its closing parenthesis.

    First with string literals respected; if that never closes (a stray quote hid the closing
    parenthesis), with quotes ignored; if that never closes either, at the end of the text.
    """
    end = _closing_paren(text, start, quotes=True)
    if end is None:
        end = _closing_paren(text, start, quotes=False)
    return len(text) if end is None else end


def _closing_paren(text: str, start: int, *, quotes: bool) -> int | None:
    depth = 1
    quote: str | None = None
    i = start
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if text.startswith(quote, i):
                i += len(quote)
                quote = None
                continue
        elif quotes and ch in "\"'" and _opens_string(text, i):
            quote = text[i : i + 3] if text.startswith(ch * 3, i) else ch
            i += len(quote)
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def _opens_string(text: str, i: int) -> bool:
    """Whether the quote at `i` can start a string literal: not an apostrophe inside a word
    (`Bob's`, `users'`), unless the word before it is a string prefix (`f"`, `rb'`)."""
    word_start = i
    while word_start > 0 and (text[word_start - 1].isalnum() or text[word_start - 1] == "_"):
        word_start -= 1
    return word_start == i or text[word_start:i].lower() in _STRING_PREFIXES


def _without_sources(inner: str) -> str:
    """`FINAL(answer, sources=[...])` written as text: the answer alone. Citations are checked
    only when FINAL is called in code, where `sources` is a value, not text."""
    cut = _SOURCES_ARG.search(inner)
    if cut is None:
        return inner
    try:
        call = ast.parse(f"f({inner})", mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return inner[: cut.start()]  # an argument Python cannot read: cut at the keyword
    only_sources = isinstance(call, ast.Call) and [k.arg for k in call.keywords] == ["sources"]
    if only_sources and len(call.args) == 1:
        return ast.get_source_segment(f"f({inner})", call.args[0]) or inner
    return inner


_SOURCES_ARG = re.compile(r",\s*sources\s*=")


def _unquote(value: str) -> str:
    """`"x"` -> `x` when the whole argument is one string literal; otherwise unchanged."""
    if not value or value[0] not in "\"'rRbBuUfF":
        return value
    try:
        literal = ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return value
    return literal if isinstance(literal, str) else value
