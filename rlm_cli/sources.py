"""The sources of an answer and the passages of a trace, as the CLI prints them."""

from __future__ import annotations

from typing import Any

from rlm_engine.events import CitationChecked, PassagesFound

NO_SOURCE = "no passage of the corpus contains this answer"
JSON_KEYS = ("document", "document_index", "page", "start", "end", "text")
QUOTE_CHARS = 160


def as_json(sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`rlm ask --json`'s "sources": context[document_index][start:end] == text."""
    return [{k: s.get(k) for k in JSON_KEYS} for s in sources]


def place(p: dict[str, Any]) -> str:
    page = f", page {p['page']}" if p.get("page") else ""
    return f"{p.get('document')}{page}, characters {p.get('start')}-{p.get('end')}"


def quote(text: str, width: int = QUOTE_CHARS) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def source_lines(sources: list[dict[str, Any]], cited: int | None = None) -> list[str]:
    """Numbered, as answers may refer to them ([1], [2]); the model's own citations say so."""
    if not sources:
        return [f"Sources: none ({NO_SOURCE})."]
    lines = ["Sources:"]
    for n, s in enumerate(sources, start=1):
        is_cited = s.get("cited") if cited is None else n <= cited
        mark = " (cited)" if is_cited else ""
        lines.append(f"  [{n}] {place(s)}{mark}")
        lines.append(f'      "{quote(s.get("text") or "")}"')
    return lines


def event_lines(event: PassagesFound | CitationChecked, indent: str) -> list[str]:
    """Lines of the provenance events in a trace (`rlm runs show`)."""
    if isinstance(event, PassagesFound):
        return [f"{indent}    passages: " + "; ".join(place(p) for p in event.passages)]
    if event.accepted:
        return [f"{indent}  cited: " + "; ".join(place(p) for p in event.passages)]
    return [f'{indent}  ! citation dropped ({event.reason}): "{quote(event.text)}"']
