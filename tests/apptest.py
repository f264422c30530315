"""Helpers for the AppTest tests of the web app (tests/test_app_*.py)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from rlm_engine.config import ModelSpec, RunConfig
from rlm_engine.events import (
    CodeExecuted,
    FinalAnswer,
    RootResponse,
    RunFinished,
    RunStarted,
    Usage,
)

APP = Path(__file__).resolve().parents[1] / "app.py"
RUN_TIMEOUT_S = 60


def open_app(page: str | None = None) -> AppTest:
    """The app, run once, on `page` (e.g. "pages/history.py"); a generous timeout for cold runs."""
    at = AppTest.from_file(str(APP), default_timeout=RUN_TIMEOUT_S)
    at.run()
    if page is not None:
        at.switch_page(page).run()
    return at


def markdown_text(at: AppTest) -> str:
    """Every markdown element's text, to look for what a user would read."""
    return "\n".join(str(m.value) for m in at.markdown)


def record_run(
    db: Any,
    question: str,
    *,
    answer: str = "42",
    model: str = "root-model",
    status: str = "completed",
    corpus_id: int | None = None,
    started: float | None = None,
    comparison_id: int | None = None,
    label: str | None = None,
    conversation_id: str | None = None,
) -> str:
    """A one-iteration run recorded through storage's real recorder, as the engine emits it
    (optionally as the run of `label` in a comparison, or a turn of a conversation)."""
    run_id = uuid.uuid4().hex
    start = time.time() if started is None else started
    config = RunConfig(root=ModelSpec("openai", model)).to_dict()
    if conversation_id is not None:
        record = db.recorder(corpus_id=corpus_id, conversation_id=conversation_id)
    elif comparison_id is None:
        record = db.recorder(corpus_id=corpus_id)
    else:
        record = db.recorder(corpus_id=corpus_id, comparison_id=comparison_id, label=label)
    usage = Usage(input_tokens=100, output_tokens=20)
    for event in (
        RunStarted(run_id=run_id, time=start, question=question, config=config, context_meta={}),
        RootResponse(
            run_id=run_id, time=start + 1, iteration=1, text="```repl\nprint(1)\n```",
            model=model, usage=usage, cost_usd=0.001, elapsed_s=1.0,
        ),
        CodeExecuted(
            run_id=run_id, time=start + 2, iteration=1, block_index=0, code="print(1)",
            output="1", output_chars=1, elapsed_s=0.1,
        ),
        FinalAnswer(run_id=run_id, time=start + 3, answer=answer, source="text"),
        RunFinished(
            run_id=run_id, time=start + 3, status=status, answer=answer, error=None,
            iterations=1, sub_calls=0, input_tokens=100, output_tokens=20, cost_usd=0.001,
            elapsed_s=3.0,
        ),
    ):  # fmt: skip
        record(event)
    return run_id
