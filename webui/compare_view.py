"""Runs side by side: one column per configuration, the differences between answers, charts.

The same view serves a comparison running now (from worker handles), a saved comparison and a
hand-picked set of runs from History (from storage).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import streamlit as st

from rlm_engine.events import Event
from rlm_engine.trace import Totals, Trace, fold
from webui.draw import draw_iterations, status_badge
from webui.review import models_of, totals_of
from webui.runner import RunHandle
from webui.safe_text import safe_html, safe_markdown
from webui.sources_view import DocumentLoader, corpus_documents, draw_sources
from webui.timeline import draw_timeline, last_time
from webui.trace import format_cost, format_seconds

if TYPE_CHECKING:
    from storage import Database, RunSummary


@dataclass
class Entry:
    """One column: a run under one configuration."""

    label: str
    trace: Trace
    totals: Totals
    status: str | None
    error: str | None = None
    documents: DocumentLoader | None = None  # the corpus's documents, to open sources
    events: list[Event] = field(default_factory=list)  # for the timeline

    @property
    def answer(self) -> str:
        return self.trace.answer or ""


def entry_from_handle(handle: RunHandle, documents: DocumentLoader | None = None) -> Entry:
    events = handle.events()
    trace = fold(events)
    status = trace.status
    if handle.done and status is None:
        status = handle.result.status if handle.result is not None else "failed"
    error = trace.error or handle.error
    return Entry(handle.label, trace, trace.totals, status, error, documents, events)


def entry_from_summary(db: Database, summary: RunSummary) -> Entry:
    events = db.run_events(summary.run_id)
    trace = fold(events)
    label = summary.label or models_of(summary)
    documents = corpus_documents(db, summary.corpus_id)
    return Entry(label, trace, totals_of(summary), summary.status, summary.error, documents, events)


def word_diff(old: str, new: str) -> str:
    """`new` against `old`, word by word, as HTML: removed words struck out, added ones marked.

    The answers are compared as written (every character kept, `__init__` and `**` included)
    and shown as text (`safe_html`): no markup of theirs is interpreted."""
    a, b = old.split(), new.split()
    parts: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op in ("delete", "replace"):
            parts.append(f"<del>{safe_html(' '.join(a[i1:i2]))}</del>")
        if op in ("insert", "replace"):
            parts.append(f"<ins>{safe_html(' '.join(b[j1:j2]))}</ins>")
        if op == "equal":
            parts.append(safe_html(" ".join(a[i1:i2])))
    return " ".join(parts)


def similarity(old: str, new: str) -> float:
    return difflib.SequenceMatcher(None, old.split(), new.split(), autojunk=False).ratio()


_DIFF_STYLE = (
    "<style>.rlm-diff del{background:#fdd;color:#900}.rlm-diff ins{background:#dfd;"
    "color:#060;text-decoration:none}</style>"
)


def draw_entries(entries: list[Entry], *, key: str) -> None:
    """Answers and totals side by side; the traces below, one tab per configuration (four
    traces side by side do not fit a laptop); then, once every run ended, differences and charts."""
    columns = st.columns(len(entries), border=True)
    for position, (column, entry) in enumerate(zip(columns, entries, strict=True)):
        with column:
            st.markdown(f"**#{position + 1}** · **{safe_markdown(entry.label)}**")
            _draw_column(entry, key=f"{key}-{position}")
    st.markdown("**Traces**")
    tabs = st.tabs([f"#{n} · {safe_markdown(e.label)}" for n, e in enumerate(entries, start=1)])
    for position, (tab, entry) in enumerate(zip(tabs, entries, strict=True)):
        with tab:
            if not entry.trace.iterations:
                st.caption("No iteration yet." if entry.status is None else "No iteration.")
            draw_iterations(entry.trace, key=f"{key}-{position}", live=entry.status is None)
            live = entry.status in (None, "running")
            now = None if live else last_time(entry.events)
            draw_timeline(entry.events, key=f"{key}-{position}", now=now)
    if all(entry.status not in (None, "running") for entry in entries):
        _draw_differences(entries, key=key)
        _draw_charts(entries)


def _draw_column(entry: Entry, *, key: str) -> None:
    st.markdown(status_badge(entry.status))
    with st.container(key=f"{key}-answer"):
        if entry.answer:
            if entry.trace.unsupported:
                st.caption(":material/help: unsupported: in no output the model saw")
            if entry.trace.fallback:
                st.caption(":material/alt_route: fallback answer: the run stalled")
            st.markdown(safe_markdown(entry.answer))
        elif entry.status == "cancelled":
            st.info("Stopped before an answer.", icon=":material/stop_circle:")
        elif entry.error:
            st.error(safe_markdown(entry.error), icon=":material/error:")
        elif entry.status in (None, "running"):
            st.caption("Working…")
        else:
            st.caption("No answer.")
    draw_sources(entry.trace.sources, entry.answer, key=key, documents=entry.documents)
    totals = entry.totals
    st.markdown(
        f":material/payments: **Cost** {format_cost(totals.cost_usd)}  \n"
        f":material/token: **Tokens** {totals.input_tokens:,} in · {totals.output_tokens:,} out  \n"
        f":material/repeat: **Iterations** {totals.iterations}  \n"
        f":material/call_split: **Sub-calls** {totals.sub_calls}  \n"
        f":material/timer: **Time** {format_seconds(totals.elapsed_s)}"
    )


def _draw_differences(entries: list[Entry], *, key: str) -> None:
    base = entries[0]
    st.subheader("Differences between answers")
    st.caption(
        f"Each answer, as written, against **{safe_markdown(base.label)}**: removed words struck "
        "out, added ones marked."
    )
    with st.container(key=f"{key}-diff"):
        base_text = base.answer
        for entry in entries[1:]:
            text, label = entry.answer, safe_markdown(entry.label)
            if base_text.split() == text.split():
                st.markdown(f"**{label}**: the same answer.")
                continue
            st.markdown(f"**{label}** · {similarity(base_text, text):.0%} of words in common")
            st.html(f"{_DIFF_STYLE}<div class='rlm-diff'>{word_diff(base_text, text)}</div>")


def _draw_charts(entries: list[Entry]) -> None:
    """Small bar charts of cost and time; runs named #1, #2... as the columns above."""
    names = [f"#{n}" for n in range(1, len(entries) + 1)]
    height = 60 + 40 * len(entries)
    left, right = st.columns(2)
    with left:
        st.markdown("**Cost (USD)**")
        known = [(n, e.totals.cost_usd) for n, e in zip(names, entries, strict=True)]
        known = [(n, c) for n, c in known if c is not None]
        if len(known) < len(entries):
            st.caption("Some prices are unknown: add them on the Settings page.")
        if known:
            st.bar_chart(
                {"run": [n for n, _ in known], "cost": [c for _, c in known]},
                x="run",
                y="cost",
                horizontal=True,
                height=height,
            )
    with right:
        st.markdown("**Time (s)**")
        st.bar_chart(
            {"run": names, "time": [e.totals.elapsed_s for e in entries]},
            x="run",
            y="time",
            horizontal=True,
            height=height,
        )
