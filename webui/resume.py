"""Resuming a saved conversation on Ask: a new session over the same corpus, the earlier
questions and answers shown above it. Nothing is re-run, so the REPL starts fresh: the variables
the model made then are gone, and the page says so."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

from webui.safe_text import safe_markdown

if TYPE_CHECKING:
    from storage import RunSummary
    from webui.state import Workspace

NOTE = (
    "Resumed from History: the questions and answers above are shown as they were saved; nothing "
    "was re-run. The REPL starts fresh, so variables made in those runs are gone."
)


@dataclass(frozen=True)
class EarlierTurn:
    """A saved question and its answer (or why it has none), shown above a resumed conversation."""

    question: str
    answer: str
    status: str


def can_resume(runs: list[RunSummary]) -> str | None:
    """Why this conversation cannot be resumed (its corpus is gone), or None."""
    if runs and runs[-1].corpus_id is None:
        return "Its corpus was not saved or was deleted: there is nothing to ask about."
    return None


def resume(runs: list[RunSummary], ws: Workspace) -> None:
    """Open Ask on the conversation's corpus with its turns above; new questions join it."""
    last = runs[-1]
    ws.use_corpus(None, corpus_id=last.corpus_id, name=last.corpus_name or "")
    ws.conversation_id = last.conversation
    ws.earlier = [
        EarlierTurn(r.question, r.answer or r.error or "(no answer)", r.status) for r in runs
    ]
    st.switch_page("pages/ask.py")


def draw_earlier(ws: Workspace) -> None:
    """The resumed conversation's saved turns, then the note that nothing was re-run."""
    if not ws.earlier:
        return
    from webui.trace import status_label

    for turn in ws.earlier:
        with st.chat_message("user"):
            st.markdown(safe_markdown(turn.question))
        with st.chat_message("assistant", avatar=":material/history:"):
            st.markdown(safe_markdown(turn.answer))
            st.caption(f"Saved run · {status_label(turn.status)}")
    st.info(NOTE, icon=":material/history:")
