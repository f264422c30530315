"""An answer accepted without evidence is marked on the History page (AppTest, real SQLite)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from rlm_engine.config import ModelSpec, RunConfig
from rlm_testkit.runs import one_iteration_run
from tests.apptest import open_app
from webui.draw import UNSUPPORTED_ANSWER


def record(db: Any, *, unsupported: bool) -> str:
    run_id = uuid.uuid4().hex
    start = time.time()
    config = RunConfig(root=ModelSpec("local", "qwen2.5-coder-1.5b")).to_dict()
    write = db.recorder()
    for event in one_iteration_run(
        run_id, "How many?", start=start, config=config, answer="1000", model="qwen",
        unsupported=unsupported,
    ):  # fmt: skip
        write(event)
    return run_id


def warnings_of(at: Any) -> str:
    return "\n".join(str(w.value) for w in at.warning)


def test_history_marks_an_unsupported_answer(app_db: Any) -> None:
    run_id = record(app_db, unsupported=True)
    at = open_app("pages/history.py")
    at = at.selectbox(key="history-open").set_value(run_id).run()
    assert UNSUPPORTED_ANSWER in warnings_of(at)
    assert not at.exception


def test_history_does_not_mark_a_supported_answer(app_db: Any) -> None:
    run_id = record(app_db, unsupported=False)
    at = open_app("pages/history.py")
    at = at.selectbox(key="history-open").set_value(run_id).run()
    assert "1000" in "\n".join(str(m.value) for m in at.markdown)
    assert UNSUPPORTED_ANSWER not in warnings_of(at)
    assert not at.exception
