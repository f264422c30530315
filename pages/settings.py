"""Settings: keys and endpoints for this session, the offline model, prices, the database."""

from __future__ import annotations

import os

import streamlit as st

from rlm_engine.paths import data_dir
from rlm_engine.providers.registry import PROVIDERS
from webui import downloads
from webui.prices import price_editor, shown_url
from webui.resources import safe_db_url
from webui.saved_prices import FILE_NAME, save_prices
from webui.state import Settings, settings

prefs = settings()
st.title("Settings")

st.subheader("API keys and endpoints")
# (kind, provider, label, environment variable): the keys, then the base URLs
FIELDS = [
    ("api_key", p.name, f"{p.title} API key", p.key_var) for p in PROVIDERS.values() if p.key_var
] + [
    ("base_url", p.name, f"{p.title} base URL {p.base_url_note}".strip(), p.base_url_var)
    for p in PROVIDERS.values()
    if p.base_url_var
]
ENV_VARS = ", ".join(env for *_, env in FIELDS)
st.caption(
    "Keys are kept in this browser session's memory only: never saved, never logged, never sent "
    f"to the code the model writes. Environment variables ({ENV_VARS}) work too; what "
    "you type here wins. **A base URL typed here needs a key typed with it**: the server's key is "
    "only ever sent to the server's own endpoint (type any text if your endpoint needs no key)."
)
with st.form("keys", border=True):
    cols = st.columns(2)
    typed: dict[str, dict[str, str]] = {"api_key": {}, "base_url": {}}
    for position, (kind, provider, label, env) in enumerate(FIELDS):
        secret = kind == "api_key"
        from_env = os.environ.get(env)
        hint = "set in the environment" if from_env else "not set in the environment"
        if from_env and not secret:  # the URL itself (never a key), without any credentials in it
            hint = shown_url(from_env)
        kept = prefs.keys if secret else prefs.base_urls
        typed[kind][provider] = (
            cols[position % 2]
            .text_input(
                label,
                value=kept.get(provider, ""),
                type="password" if secret else "default",
                placeholder=f"{env}: {hint}",
                key=f"settings-{provider}_{kind}",
            )
            .strip()
        )
    saved = st.form_submit_button("Use for this session", type="primary")
if saved:
    entered = Settings(keys=typed["api_key"], base_urls=typed["base_url"])
    if entered.missing_keys():
        st.error(
            f"Type a key for the base URL of {' and '.join(entered.missing_keys())}: a base URL "
            "typed here is never sent the server's key (any text will do if the endpoint needs "
            "none). Nothing was changed.",
            icon=":material/key_off:",
        )
    else:
        prefs.keys, prefs.base_urls = entered.keys, entered.base_urls
        st.toast("Settings apply to new runs in this session.", icon=":material/check:")

credentials = prefs.credentials()
st.markdown(
    " · ".join(
        f"{p.title}: {':green[key set]' if credentials.key(p.name) else ':gray[no key]'}"
        for p in PROVIDERS.values()
        if p.needs_key
    )
)

st.subheader("Offline model")
downloads.model_section()

st.subheader("Prices")
st.caption(
    "Costs come from genai-prices. Override them here (USD per million tokens) for models it does "
    "not know, or for your own rates. Applies to new runs in this session; **Save prices** makes "
    "them the default of every new session (prices are not secrets: they are written to "
    f"`{FILE_NAME}` in the data directory)."
)
price_editor(prefs)
if st.button("Save prices", icon=":material/save:", key="settings-prices-save"):
    try:
        where = save_prices(prefs.price_overrides)
    except OSError as exc:
        st.error(f"The prices could not be saved: {exc}", icon=":material/error:")
    else:
        st.toast(f"Saved {len(prefs.price_overrides)} price(s) to {where}.", icon=":material/save:")

st.subheader("Sub-call cache")
prefs.sub_call_cache = st.toggle(
    "Answer identical sub-calls from the database",
    value=prefs.sub_call_cache,
    key="settings-sub-call-cache",
    help="A sub-call with the same model, prompt and parameters over the same corpus gets the "
    "answer saved the first time, at $0 (marked cached in the trace). Off by default: a model "
    "asked again may answer differently.",
)

st.subheader("Storage")
st.markdown(f"Database: `{safe_db_url()}`")
st.markdown(f"Data directory: `{data_dir()}`")
st.caption("Set RLM_DATA_DIR to move the data directory, or RLM_DB_URL for another database.")
