"""Reading a root model's reply: its ```repl code blocks and its FINAL(...)/FINAL_VAR(...) line.

Pure functions over strings, tested without fixtures.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Literal

# ```repl is the contract; small models often write ```python for the same thing, so we take both.
_CODE_BLOCK = re.compile(r"```(?:repl|python|py)[ \t]*\n(.*?)(?:\n)?```", re.DOTALL)
# Case-insensitive: small models write `Final(x)`; at the start of a line it is never prose.
_FINAL_START = re.compile(r"^[ \t]*(FINAL_VAR|FINAL)\(", re.MULTILINE | re.IGNORECASE)


@dataclass(frozen=True)
class FinalDirective:
    """A `FINAL(answer)` or `FINAL_VAR(name)` written as a line of the reply, outside code."""

    kind: Literal["FINAL", "FINAL_VAR"]
    value: str  # the answer for FINAL, the variable's name for FINAL_VAR


def find_code_blocks(text: str) -> list[str]:
    """The code of every ```repl block, in order. An unclosed last block counts too: the model was
    cut off by a stop sequence or a token limit and its code is still worth running."""
    blocks = [m.group(1) for m in _CODE_BLOCK.finditer(text)]
    tail = text[_last_block_end(text) :]
    unclosed = re.search(r"```(?:repl|python|py)[ \t]*\n(.*)\Z", tail, re.DOTALL)
    if unclosed and unclosed.group(1).strip():
        blocks.append(unclosed.group(1).rstrip())
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


def strip_code_blocks(text: str) -> str:
    """The reply without its code blocks: where a FINAL line may stand."""
    text = _CODE_BLOCK.sub("", text)
    return re.sub(r"```(?:repl|python|py)[ \t]*\n.*\Z", "", text, flags=re.DOTALL)


def find_final(text: str) -> FinalDirective | None:
    """The first FINAL/FINAL_VAR line outside code blocks, or None.

    Parentheses are matched with awareness of string literals, so `FINAL(f(x) = "(a)")` keeps its
    inner parentheses; an answer may span lines; an unclosed `FINAL(` takes the rest of the reply.
    A Python string literal as the whole argument is unquoted: `FINAL("x")` yields `x`.
    """
    prose = strip_code_blocks(text)
    match = _FINAL_START.search(prose)
    if match is None:
        return None
    kind = match.group(1).upper()
    inner = _balanced_argument(prose, match.end())
    value = _unquote(inner.strip())
    if kind == "FINAL_VAR":
        value = value.strip().strip("'\"`")
    return FinalDirective(kind=kind, value=value)  # type: ignore[arg-type]


def _last_block_end(text: str) -> int:
    end = 0
    for m in _CODE_BLOCK.finditer(text):
        end = m.end()
    return end


def _balanced_argument(text: str, start: int) -> str:
    """Text from `start` up to the parenthesis closing the one just before it."""
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
        elif text.startswith(('"""', "'''"), i):
            quote = text[i : i + 3]
            i += 3
            continue
        elif ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return text[start:i]
        i += 1
    # Unbalanced: a stray quote (an apostrophe in prose) may have hidden the closing parenthesis.
    last_close = text.rfind(")")
    return text[start:last_close] if last_close >= start else text[start:]


def _unquote(value: str) -> str:
    """`"x"` -> `x` when the whole argument is one string literal; otherwise unchanged."""
    if not value or value[0] not in "\"'rRbBuUfF":
        return value
    try:
        literal = ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return value
    return literal if isinstance(literal, str) else value
