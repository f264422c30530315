"""Shared resources of the web app (one per process) and the page edge where errors are shown."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

import streamlit as st

from rlm_engine.paths import default_db_url, private_dirs
from webui.runner import user_message
from webui.safe_text import safe_markdown

if TYPE_CHECKING:
    from storage import Database

log = logging.getLogger(__name__)


@st.cache_resource(show_spinner=False)
def _open_database(url: str) -> Database:
    from storage import Database

    return Database.open(url)


def database() -> Database:
    """The app's database (one per URL and process). Never mutate what this returns."""
    return _open_database(default_db_url())


def hidden_paths() -> tuple[str, ...]:
    """What every sandbox of the app hides from model code: the data directory, the models
    directory and the SQLite file's directory (every user's runs and documents live there)."""
    from storage import sqlite_dir

    return private_dirs(sqlite_dir(default_db_url()))


def safe_db_url(url: str | None = None) -> str:
    """The database URL with any password masked, for showing on a page."""
    from sqlalchemy.engine import make_url

    url = url or default_db_url()
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


@contextlib.contextmanager
def shown_errors(what: str = "") -> Iterator[None]:
    """Show an engine/storage failure in the page as a message, never as a traceback."""
    try:
        yield
    except Exception as exc:  # st.rerun/st.stop raise BaseExceptions: they pass through
        message = safe_markdown(user_message(exc))
        st.error(f"{what}: {message}" if what else message, icon=":material/error:")
