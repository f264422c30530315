"""Helpers for the AppTest tests of the web app (tests/test_app_*.py)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from rlm_engine.config import ModelSpec, RunConfig
from rlm_testkit.runs import one_iteration_run

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
    for event in one_iteration_run(
        run_id, question, start=start, config=config, answer=answer, model=model, status=status
    ):
        record(event)
    return run_id
