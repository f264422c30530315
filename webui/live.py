"""Drawing a run that may still be going: a fragment polls the worker's events until it ends.

The fragment stops itself by rerunning the whole page once the run is done, so the final view is
drawn once and nothing polls afterwards.
"""

from __future__ import annotations

import streamlit as st

from webui.draw import draw_run, status_badge
from webui.runner import RunHandle
from webui.trace import build_trace

POLL_S = 0.5


def draw_handle(handle: RunHandle, *, key: str, stop_button: bool = True) -> None:
    """The run's trace; live (with a Stop button) while it runs, final once it is done."""
    if handle.done:
        _draw(handle, key=key, live=False)
        return

    @st.fragment(run_every=POLL_S)
    def live() -> None:
        if handle.done:
            st.rerun()
        if stop_button:
            st.button(
                "Stopping…" if handle.cancel.is_set() else "Stop",
                key=f"{key}-stop",
                icon=":material/stop_circle:",
                on_click=handle.stop,
                disabled=handle.cancel.is_set(),
            )
        _draw(handle, key=key, live=True)

    live()


def _draw(handle: RunHandle, *, key: str, live: bool) -> None:
    events = handle.events()
    trace = build_trace(events)
    if handle.done and handle.result is not None and trace.status is None:
        trace.status = handle.result.status  # the run ended without its last event
    if live and not events:
        st.caption(":material/progress_activity: Starting the REPL and the first root call…")
    elif not live:
        st.markdown(status_badge(trace.status or ("failed" if handle.error else None)))
    draw_run(trace, key=key, live=live, error=handle.error)
    for warning in handle.warnings:
        st.warning(warning, icon=":material/database:")
