"""Saved runs drawn for review: the same panels as live, from the stored events."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import streamlit as st

from rlm_engine.trace import Totals, fold
from webui.draw import draw_answer, draw_iterations, draw_totals, status_badge
from webui.safe_text import safe_markdown
from webui.sources_view import corpus_documents
from webui.timeline import draw_timeline, last_time
from webui.trace import format_cost, format_seconds, status_label

if TYPE_CHECKING:
    from storage import Database, RunSummary

POLL_S = 1.0
STATUSES = ["completed", "limit", "failed", "cancelled", "running", "interrupted"]


def when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def totals_of(summary: RunSummary) -> Totals:
    """A stored run's totals (right even for a run that never finished)."""
    return Totals.of(summary)


def models_of(summary: RunSummary) -> str:
    root = f"{summary.root_provider}:{summary.root_model}"
    if summary.sub_model and (summary.sub_provider, summary.sub_model) != (
        summary.root_provider,
        summary.root_model,
    ):
        return f"{root} → {summary.sub_provider}:{summary.sub_model}"
    return root


_QUESTION_PREVIEW = 120


def run_row(summary: RunSummary) -> dict[str, Any]:
    """One run in History's list (the question cut short: the whole one is shown when opened)."""
    question = " ".join(summary.question.split())
    if len(question) > _QUESTION_PREVIEW:
        question = question[: _QUESTION_PREVIEW - 1] + "…"
    return {
        "started": when(summary.started_at),
        "status": status_label(summary.status),
        "question": question,
        "models": models_of(summary),
        "cost": format_cost(summary.cost_usd),
        "time": format_seconds(summary.elapsed_s),
        "tokens": summary.input_tokens + summary.output_tokens,
        "iterations": summary.iterations,
        "sub-calls": summary.sub_calls,
        "corpus": summary.corpus_name or "",
    }


def draw_stored_run(db: Database, summary: RunSummary, *, key: str) -> None:
    """A saved run the way it looked live; one still running is re-read until it ends."""
    if summary.status != "running":
        _draw_stored(db, summary, key=key)
        return

    @st.fragment(run_every=POLL_S)
    def live() -> None:
        current = db.get_run(summary.run_id) or summary
        if current.status != "running":
            st.rerun()
        _draw_stored(db, current, key=key)

    live()


def _draw_stored(db: Database, summary: RunSummary, *, key: str) -> None:
    st.markdown(
        f"{status_badge(summary.status)} · {safe_markdown(models_of(summary))} · "
        f"{safe_markdown(summary.corpus_name) or 'no corpus'} · {when(summary.started_at)}"
    )
    events = db.run_events(summary.run_id)
    trace = fold(events)
    if trace.status is None and summary.status != "running":
        trace.status = summary.status  # e.g. interrupted: the recorder died before the end
    trace.error = trace.error or summary.error
    draw_iterations(trace, key=key)
    now = None if summary.status == "running" else last_time(events)  # one that never ended
    draw_timeline(events, key=key, now=now)
    draw_totals(totals_of(summary))
    draw_answer(trace, key=key, documents=corpus_documents(db, summary.corpus_id))
