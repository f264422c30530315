"""An evaluation running in a worker thread of the browser session (never calling `st.*`): the
Evaluate page polls its progress from a fragment, so reruns and page changes do not stop it."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import streamlit as st

from webui.runner import user_message

if TYPE_CHECKING:
    from rlm_engine.config import Credentials
    from rlm_eval.runner import EvalRunner, Progress
    from storage import Database

log = logging.getLogger(__name__)


@dataclass
class EvalJob:
    """One evaluation in flight (or just ended) in this browser session."""

    eval_id: str
    corpus_id: int | None = None  # the saved corpus its runs read (not deleted while it runs)
    stop: threading.Event = field(default_factory=threading.Event)
    progress: Progress | None = None  # the latest
    status: str | None = None  # the sitting's end status once done
    error: str | None = None
    _thread: threading.Thread | None = None

    @property
    def done(self) -> bool:
        return self._thread is None or not self._thread.is_alive()


@dataclass
class EvalPage:
    """What the Evaluate page keeps between script runs."""

    job: EvalJob | None = None
    shown_id: str | None = None  # the evaluation whose results are shown
    set_id: int | None = None  # the set picked or built for the next evaluation
    corpus_id: int | None = None  # the corpus of a generated suite, preselected


def eval_page() -> EvalPage:
    return st.session_state.setdefault("rlm_evaluate", EvalPage())


def start_job(
    db: Database,
    eval_id: str,
    context: str | list[str],
    credentials: Credentials,
    hidden: tuple[str, ...],
) -> EvalJob:
    """Run what is left of `eval_id` in a thread; the job says how far it is."""
    from rlm_eval.runner import EvalRunner

    info = db.evals.get(eval_id)
    job = EvalJob(eval_id, corpus_id=info.corpus_id if info else None)

    def on_progress(progress: Progress) -> None:
        job.progress = progress

    def work() -> None:
        try:
            runner = EvalRunner(
                db,
                eval_id,
                context,
                credentials=credentials,
                on_progress=on_progress,
                stop=job.stop,
                hidden_paths=hidden,
            )
            job.progress = _first_progress(runner)
            job.status = runner.run()
        except Exception as exc:  # shown on the page; the evaluation stays resumable
            job.error = user_message(exc)
            job.status = "failed"

    job._thread = threading.Thread(target=work, name=f"rlm-eval-{eval_id}", daemon=True)
    job._thread.start()
    return job


def _first_progress(runner: EvalRunner) -> Progress:
    from rlm_eval.runner import Progress

    return Progress(runner.done, runner.total, runner.passed, 0, runner.spent, 0.0, None)
