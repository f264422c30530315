"""History: every saved run, newest first, follow-ups of one conversation as one row; search,
filter (starred, tags), review, star and tag, resume as a conversation, export, delete."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING

import streamlit as st

from storage import RunFilter
from webui.ask_again import ask_again
from webui.resources import database, shown_errors
from webui.resume import can_resume, resume
from webui.review import STATUSES, draw_stored_run, run_row, when
from webui.run_marks import star_button, tags_field
from webui.safe_text import safe_markdown
from webui.state import kept, workspace
from webui.trace import plural, status_label

if TYPE_CHECKING:
    from storage import RunSummary

PAGE_SIZE = 50
ALL_CORPORA, ALL_MODELS, ALL_STATUSES = "All corpora", "All models", "All statuses"
ALL_TAGS = "All tags"
OPEN_KEY, ROWS_KEY = "history-open", "history-rows"
# The list is a radio group drawn as rows (no dots, a line between rows, the row under the
# pointer shaded, a click anywhere on a row picks it): Streamlit's interactive table loads 1.5 MB
# of scripts on first use and draws a canvas, over 2 s of the page's first paint; a radio group
# is in the app's own bundle.
_ROWS = ".st-key-history-rows [data-testid='stRadioGroup']"
ROWS_STYLE = (
    f"<style>{_ROWS} {{ gap: 0; width: 100%; }}"
    f"{_ROWS} > div {{ position: relative; padding: 0.3rem 0.5rem;"
    " border-bottom: 1px solid rgba(49, 51, 63, 0.1); }"
    f"{_ROWS} > div:hover {{ background: rgba(0, 104, 201, 0.06); }}"
    f"{_ROWS} > div:has(input:checked) {{ background: rgba(0, 104, 201, 0.12); }}"
    f"{_ROWS} [data-testid='stRadioOption'] {{ position: static; }}"
    f"{_ROWS} [data-testid='stRadioOption']::after {{ content: ''; position: absolute; inset: 0;"
    " z-index: 1; cursor: pointer; }"
    f"{_ROWS} [data-testid='stRadioOption'] > div > div:first-child {{ display: none; }}"
    f"{_ROWS} [data-testid='stRadioCaption'] {{ padding-left: 0; margin-left: 0; }}</style>"
)


st.title("History")


def day_start(day: dt.date) -> float:
    return dt.datetime.combine(day, dt.time.min).timestamp()


def row_label(summary: RunSummary) -> str:
    """A row's first line: the star and the question (a conversation's newest, its count)."""
    row = run_row(summary)
    turns = f"{summary.turns} questions · " if summary.turns > 1 else ""
    star = "★ " if summary.starred else ""
    return f"{star}{turns}**{safe_markdown(row['question'])}**"


def row_caption(summary: RunSummary) -> str:
    """A row's second line: when, status, models, cost, time, the counts, corpus and tags."""
    row = run_row(summary)
    parts = [
        row["started"],
        row["status"],
        row["models"],
        row["cost"],
        row["time"],
        f"{row['tokens']:,} tokens",
        plural(row["iterations"], "iteration"),
        plural(row["sub-calls"], "sub-call"),
        row["corpus"],
        summary.tags and "tags: " + ", ".join(summary.tags),
    ]
    return safe_markdown(" · ".join(p for p in parts if p))


def open_clicked_row() -> None:
    """A click on a row opens its run (the picker below follows)."""
    st.session_state[OPEN_KEY] = st.session_state[ROWS_KEY]


def follow_picker(shown: list[str]) -> None:
    """A run chosen in the picker is marked in the list (none when it is not on this page)."""
    chosen = st.session_state[OPEN_KEY]
    st.session_state[ROWS_KEY] = chosen if chosen in shown else None


def draw_run_list(by_id: dict[str, RunSummary]) -> None:
    """The page's runs as rows, one click opens one (keyed `history-rows`)."""
    if st.session_state.get(ROWS_KEY) not in by_id:  # another page of runs, or one deleted
        st.session_state[ROWS_KEY] = None
    st.html(ROWS_STYLE)
    st.radio(
        "Runs",
        list(by_id),
        format_func=lambda i: row_label(by_id[i]),
        captions=[row_caption(s) for s in by_id.values()],
        index=None,
        key=ROWS_KEY,
        on_change=open_clicked_row,
        label_visibility="collapsed",
        width="stretch",
    )


def conversation_label(summary: RunSummary) -> str:
    turns = f"{summary.turns} questions · " if summary.turns > 1 else ""
    star = "★ " if summary.starred else ""
    return (
        f"{star}{when(summary.started_at)} · {turns}{summary.question[:90]} · "
        f"{status_label(summary.status)}"
    )


with shown_errors("The history could not be read"):
    db = database()
    corpora = {c.id: c.name for c in db.list_corpora()}
    models = db.run_models()
    tags = db.all_tags()

    with st.container(border=True):
        # Two rows: at 1280 px one row of five cut the Dates field's "yyyy-mm-dd–yyyy-mm-dd".
        top = [*st.columns([3, 2]), *st.columns(3), *st.columns([2, 1])]
        text = kept(
            top[0].text_input,
            "Search",
            key="history-text",
            default="",
            placeholder="Words in the question or answer",
        )
        corpus_id = top[2].selectbox(
            "Corpus",
            [ALL_CORPORA, *corpora],
            format_func=lambda i: corpora.get(i, ALL_CORPORA),
            key="history-corpus",
        )
        model = top[3].selectbox("Model", [ALL_MODELS, *models], key="history-model")
        status = kept(
            top[4].selectbox,
            "Status",
            key="history-status",
            default=ALL_STATUSES,
            options=[ALL_STATUSES, *STATUSES],
            format_func=lambda s: s if s == ALL_STATUSES else status_label(s),
        )
        days = kept(
            top[1].date_input, "Dates", key="history-dates", default=(), format="YYYY-MM-DD"
        )
        tag = kept(
            top[5].selectbox, "Tag", key="history-tag", default=ALL_TAGS, options=[ALL_TAGS, *tags]
        )
        starred = kept(top[6].toggle, "Starred only", key="history-starred", default=False)
    filters = RunFilter(
        starred=True if starred else None,
        tag=None if tag == ALL_TAGS else tag,
        text=text.strip() or None,
        corpus_id=None if corpus_id == ALL_CORPORA else corpus_id,
        model=None if model == ALL_MODELS else model,
        status=None if status == ALL_STATUSES else status,
        since=day_start(days[0]) if len(days) >= 1 else None,
        until=day_start(days[1] + dt.timedelta(days=1)) if len(days) == 2 else None,
    )
    total = db.count_runs(filters, grouped=True)
    pages = max(1, -(-total // PAGE_SIZE))
    page = 1
    if pages > 1:
        page = st.number_input(f"Page (of {pages})", 1, pages, 1)
    runs = db.list_runs(filters, grouped=True, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    st.caption(f"{plural(total, 'run')} (follow-ups of one conversation are one row)")

    if not runs:
        st.info("No saved run matches. Runs appear here as soon as they start on the Ask page.")
        st.stop()
    by_id = {r.run_id: r for r in runs}
    draw_run_list(by_id)
    by_id = {r.run_id: r for r in runs}
    run_id = st.selectbox(
        "Open a run",
        list(by_id),
        format_func=lambda i: conversation_label(by_id[i]),
        index=None,
        placeholder="Choose a run to review its trace",
        key=OPEN_KEY,
        on_change=follow_picker,
        args=(list(by_id),),
    )
    if run_id is not None:
        summary = by_id[run_id]
        turns = db.conversation_runs(summary.conversation) if summary.conversation_id else [summary]
        turns = [t for t in turns if t.started_at <= summary.started_at] or [summary]
        for earlier in turns[:-1]:  # the conversation so far, oldest first
            with st.chat_message("user"):
                st.markdown(safe_markdown(earlier.question))
            with st.chat_message("assistant", avatar=":material/account_tree:"):
                st.markdown(safe_markdown(earlier.answer or earlier.error or "(no answer)"))
                st.caption(f"{when(earlier.started_at)} · {status_label(earlier.status)}")
        st.subheader(safe_markdown(summary.question))
        actions = st.columns([1, 1, 1, 1.4, 1.9])
        export = db.export_run(run_id)
        actions[0].download_button(
            "Export JSON",
            json.dumps(export, indent=2, ensure_ascii=False),
            file_name=f"rlm-run-{run_id}.json",
            mime="application/json",
            icon=":material/download:",
        )
        star_button(db, summary, actions[2])
        if actions[3].button(
            "Ask again…",
            icon=":material/replay:",
            key="history-ask-again",
            help="Open Ask with this question, its corpus and its models, to change and run.",
        ):
            ask_again(summary, workspace())
        why_not = can_resume(turns)
        if actions[4].button(
            "Continue conversation",
            icon=":material/forum:",
            key="history-resume",
            disabled=why_not is not None,
            help=why_not
            or "Open Ask on the same corpus with these questions and answers above, to ask "
            "follow-ups. Nothing is re-run: the REPL starts fresh.",
        ):
            resume(turns, workspace())
        with actions[1].popover("Delete", icon=":material/delete:"):
            st.write("Delete this run and its trace? This cannot be undone.")
            if st.button("Delete run", type="primary", key="history-delete"):
                db.delete_run(run_id)
                st.session_state.pop(OPEN_KEY, None)
                st.toast("Run deleted.", icon=":material/delete:")
                st.rerun()
        tags_field(db, summary, tags)
        draw_stored_run(db, summary, key=f"history-{run_id}")
