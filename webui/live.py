"""Drawing a run that may still be going: fragments poll the worker's events until it ends.

The fragments stop themselves by rerunning the whole page once the run is done, so the final view
is drawn once and nothing polls afterwards. Status, iterations, totals, then the answer: the
newest thing is at the bottom, next to the Stop button, as in a chat.

Two fragments: the run's trace, redrawn every `POLL_S` (it folds every event so far), and inside
it the root reply streaming in, redrawn every `STREAM_POLL_S` from what the handle keeps of it
(no fold): the reply's first words are on screen within a tenth of a second or so of the
provider sending them, and the trace is not redrawn ten times a second for it.
"""

from __future__ import annotations

import streamlit as st

from rlm_engine.trace import fold
from webui.draw import (
    draw_answer,
    draw_iterations,
    draw_streaming,
    draw_totals,
    status_badge,
)
from webui.runner import RunHandle
from webui.safe_text import safe_markdown
from webui.sources_view import DocumentLoader
from webui.timeline import draw_timeline
from webui.trace import activity

POLL_S = 0.5
STREAM_POLL_S = 0.1  # how often the streaming reply grows on screen (and a new reply is seen)
# Streamlit's page follows what is added while it is scrolled to its end, not once the user
# scrolled up (to the settings, say): asking takes it to the end, where the run is drawn.
_FOLLOW = """<script>setTimeout(() => {
  const main = document.querySelector("[data-testid='stAppScrollToBottomContainer']")
    || document.querySelector("[data-testid='stMain']");
  if (main) main.scrollTo({top: main.scrollHeight});
}, 150);</script>"""


def follow_the_run() -> None:
    """Scroll to the end of the page once (after a question is asked): from there the view
    follows the newest panel until the user scrolls up."""
    st.html(_FOLLOW, unsafe_allow_javascript=True)


def draw_handle(
    handle: RunHandle,
    *,
    key: str,
    stop_button: bool = True,
    documents: DocumentLoader | None = None,
) -> None:
    """The run's trace; live (with a Stop button) while it runs, final once it is done.

    While it runs, finished iterations are drawn once, outside the fragment; the fragment redraws
    only the newest iteration and the totals, and reruns the page when another iteration starts.
    """
    if handle.done:
        _draw_final(handle, key=key, documents=documents)
        return
    trace = fold(handle.events())
    settled = max(len(trace.iterations) - 1, 0)  # all but the newest iteration are finished
    draw_iterations(trace, key=key, stop=settled)

    @st.fragment(run_every=POLL_S)
    def live() -> None:
        events = handle.events()
        now = fold(events)
        if handle.done or len(now.iterations) - 1 > settled:
            st.rerun()
        draw_timeline(events, key=key)
        draw_iterations(now, key=key, live=True, start=settled, preamble=False)
        _live_reply(handle, key=key, drawn=len(now.iterations))
        draw_totals(now.totals)
        _draw_warnings(handle)
        # What it does now and the Stop button stick to the bottom of the window (app.py's style)
        with st.container(key=f"{key}-stopbar", horizontal=True, vertical_alignment="center"):
            if stop_button:
                st.button(
                    "Stopping…" if handle.cancel.is_set() else "Stop",
                    key=f"{key}-stop",
                    icon=":material/stop_circle:",
                    on_click=handle.stop,
                    disabled=handle.cancel.is_set(),
                )
            st.caption(f":blue[:material/progress_activity:] {activity(events)}")

    live()


def _live_reply(handle: RunHandle, *, key: str, drawn: int) -> None:
    """The root reply as it streams in, redrawn on its own, often and cheaply; once the reply is
    complete (more replies than the `drawn` iterations) or the run is done, the page is rerun to
    draw it as an iteration, without waiting for the trace's next redraw."""

    @st.fragment(run_every=STREAM_POLL_S)
    def reply() -> None:
        replies, text = handle.streaming()
        if handle.done or replies > drawn:
            st.rerun()
        draw_streaming(text, key=key)

    reply()


def _draw_final(handle: RunHandle, *, key: str, documents: DocumentLoader | None = None) -> None:
    events = handle.events()
    trace = fold(events)
    if handle.result is not None and trace.status is None:
        trace.status = handle.result.status  # the run ended without its last event
    st.markdown(status_badge(trace.status or ("failed" if handle.error else None)))
    draw_iterations(trace, key=key)
    draw_timeline(events, key=key)
    draw_totals(trace.totals)
    draw_answer(trace, key=key, error=handle.error, documents=documents)
    _draw_warnings(handle)


def _draw_warnings(handle: RunHandle) -> None:
    for warning in handle.warnings:
        st.warning(safe_markdown(warning), icon=":material/database:")
