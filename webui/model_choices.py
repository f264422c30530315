"""What a model field offers: the models the endpoint lists, fetched when asked (a short
timeout) and kept for the browser session, or the provider's suggested models until then or
when listing fails (with a quiet note). The field beside it still takes any name."""

from __future__ import annotations

import streamlit as st

from rlm_engine.config import Credentials
from rlm_engine.defaults import suggested_model

_CACHE = "rlm_model_lists"  # (provider, base URL) -> (models, note or None)


def _endpoint(provider: str, credentials: Credentials) -> tuple[str, str]:
    """The cache key: the provider and where it is reached (never the key)."""
    return provider, credentials.base_url(provider) or ""


def suggested_models(provider: str) -> list[str]:
    if provider == "local":
        from rlm_engine.local_models import CATALOG

        return list(CATALOG)
    try:
        return list(dict.fromkeys(suggested_model(provider, role) for role in ("root", "sub")))
    except Exception:  # a provider without suggestions: free text only
        return []


def fetch_models(provider: str, credentials: Credentials) -> None:
    """List the endpoint's models now and keep them (or why not) for this browser session."""
    from rlm_engine.model_lists import list_models

    try:
        found: tuple[list[str], str | None] = (list_models(provider, credentials), None)
    except Exception as exc:  # any failure falls back to the suggestions, said quietly
        note = str(exc) if getattr(exc, "__module__", "").startswith("rlm_engine") else ""
        found = ([], f"Could not list the models{': ' + note if note else ''}.")
    st.session_state.setdefault(_CACHE, {})[_endpoint(provider, credentials)] = found


def model_choices(provider: str, credentials: Credentials) -> tuple[list[str], str | None]:
    """The models to offer and a note (why they are only the suggestions), for one endpoint."""
    cached = st.session_state.get(_CACHE, {})
    models, note = cached.get(_endpoint(provider, credentials), ([], None))
    return (models or suggested_models(provider)), note


def _picked(key: str) -> None:
    """Fill the field with the picked model; the list goes back to its placeholder.

    The list never follows what is typed into the field: a value the app set on it would reach
    the browser only with the next redraw, and a click or Enter elsewhere before that would send
    the list's old value back as if picked, putting the old model back in the field."""
    picked = st.session_state.get(f"{key}-pick")
    if picked:
        st.session_state[f"{key}-model"] = picked
        st.session_state[f"{key}-pick"] = None


def model_list_picker(title: str, *, key: str, provider: str, credentials: Credentials) -> None:
    """A list of the endpoint's models beside the free-text field `{key}-model`; picking one
    fills the field. The refresh button asks the endpoint (the local catalogue needs none)."""
    models, note = model_choices(provider, credentials)
    choose, refresh = st.columns([6, 1], vertical_alignment="bottom")
    choose.selectbox(
        f"{title}: listed models",
        models,
        index=None,
        key=f"{key}-pick",
        placeholder="Or pick a listed model",
        label_visibility="collapsed",
        on_change=_picked,
        args=(key,),
    )
    refresh.button(
        "",
        icon=":material/refresh:",
        key=f"{key}-list",
        help="List the models this endpoint offers",
        on_click=fetch_models,
        args=(provider, credentials),
        disabled=provider == "local",
    )
    if note:
        st.caption(f":gray[{note} Showing the usual ones; any name can be typed above.]")


def ask_models(credentials: Credentials) -> dict[str, tuple[str, str]]:
    """The root and sub (provider, model) last set on Ask, for Compare and Evaluate to start
    from; the defaults where Ask was never drawn in this session."""
    from rlm_engine.defaults import default_provider

    store = st.session_state.get("rlm_kept", {})  # webui.state.kept: Ask's fields, as last set
    chosen = {}
    for role in ("root", "sub"):
        provider = store.get(f"ask-{role}-provider") or default_provider(credentials)
        model = str(store.get(f"ask-{role}-model") or "").strip()
        chosen[role] = (provider, model or suggested_model(provider, role))
    return chosen
