"""A saved run's star and tags, set from History (storage keeps them; History filters on them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator

    from storage import Database, RunSummary


def star_button(db: Database, summary: RunSummary, where: DeltaGenerator) -> None:
    """Star or unstar the run: one click, the list and filter follow at once."""
    starred = summary.starred
    if where.button(
        "Starred" if starred else "Star",
        icon=":material/star:" if starred else ":material/star_outline:",
        key=f"history-star-{summary.run_id}",
        help="Unstar this run" if starred else "Star this run, to find it with “Starred only”",
        type="primary" if starred else "secondary",
    ):
        db.set_starred(summary.run_id, not starred)
        st.rerun()


def tags_field(db: Database, summary: RunSummary, known: list[str]) -> None:
    """The run's tags: pick used ones or type new ones; saved as soon as they change."""
    key = f"history-tags-{summary.run_id}"

    def save() -> None:
        db.set_tags(summary.run_id, st.session_state[key])

    st.multiselect(
        "Tags",
        sorted({*known, *summary.tags}, key=str.casefold),
        default=list(summary.tags),
        key=key,
        accept_new_options=True,
        placeholder="Add tags (type a new one and press Enter)",
        on_change=save,
    )
