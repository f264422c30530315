"""Starting and resuming evaluations: what the CLI and the app share between a parsed set and
the runner (the corpus and the set saved, the evaluation created, the corpus read back)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rlm_engine.config import ModelSpec
from rlm_engine.errors import RLMError
from rlm_eval.configs import EvalConfig
from rlm_eval.questions import Question


def create(
    db: Any,
    *,
    name: str,
    questions: list[Question],
    corpus_id: int,
    configs: list[EvalConfig],
    judge: ModelSpec | None = None,
    parallel: int = 4,
    repeat: int = 1,
    max_cost_usd: float | None = None,
    set_id: int | None = None,
) -> str:
    """Store the set (unless it is stored already: `set_id`) and a new evaluation; its id."""
    lines = [q.to_json() for q in questions]
    if set_id is None:  # the same set run again is stored once
        same = [s.id for s in db.evals.list_sets() if s.name == name and s.questions == lines]
        set_id = same[0] if same else db.evals.save_set(name, lines)
    return db.evals.create(
        name=name,
        questions=lines,
        configs=[c.to_json() for c in configs],
        corpus_id=corpus_id,
        set_id=set_id,
        judge=asdict(judge) if judge else None,
        parallel=parallel,
        repeat=repeat,
        max_cost_usd=max_cost_usd,
    )


def corpus_name(documents: list[Any]) -> str:
    name = ", ".join(doc.name for doc in documents[:3])
    return name + (f" and {len(documents) - 3} more" if len(documents) > 3 else "")


def context_of(db: Any, info: Any) -> list[str]:
    """The evaluation's corpus as `context`, read back from the database (for a resume)."""
    if info.corpus_id is None or db.get_corpus(info.corpus_id) is None:
        raise RLMError(
            f"The corpus of evaluation {info.id} was deleted: it cannot be resumed. Start a new "
            "evaluation with `rlm eval run`."
        )
    return db.corpus_context(info.corpus_id)
