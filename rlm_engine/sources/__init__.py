"""Provenance: the corpus passages a run's model saw, and the ones its answer rests on.

`CorpusIndex(documents)` is built once per corpus (a `Session` keeps it); a `SourceTracker` turns
a run's events into PassagesFound / CitationChecked / SourcesFound events.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rlm_engine.sources.answer import answer_sources, check_citation, distinctive_parts
from rlm_engine.sources.index import CorpusIndex, Passage, SourceDoc
from rlm_engine.sources.tracker import NO_SOURCE, SourceTracker

__all__ = [
    "NO_SOURCE",
    "CorpusIndex",
    "Passage",
    "SourceDoc",
    "SourceTracker",
    "answer_sources",
    "check_citation",
    "distinctive_parts",
    "source_documents",
]


def source_documents(
    context: str | list[str], documents: Sequence[Any] | None = None
) -> list[SourceDoc]:
    """`context` as indexable documents; names and page offsets from `documents` (corpus
    Documents or anything with `name` and `page_offsets`), in the same order, when given."""
    texts = [context] if isinstance(context, str) else list(context)
    out = []
    for i, text in enumerate(texts):
        meta = documents[i] if documents is not None and i < len(documents) else None
        name = getattr(meta, "name", None) or (
            "context" if isinstance(context, str) else f"context[{i}]"
        )
        offsets = tuple(int(o) for o in (getattr(meta, "page_offsets", None) or ()))
        out.append(SourceDoc(name, text, offsets))
    return out
