"""The widgets that choose a run's models and budgets, shared by Ask and Compare.

The defaults work offline: with no key configured the local provider is chosen. Choosing a
provider fills in its usual model; any model name can be typed.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from rlm_engine.config import Budgets, Credentials, ModelSpec, RunConfig
from rlm_engine.defaults import APP_BUDGETS, default_provider, has_key, suggested_model
from rlm_engine.errors import RLMError
from rlm_engine.providers.registry import PROVIDERS, provider_title
from webui.model_choices import model_list_picker
from webui.state import kept

METHOD_TITLES = {"auto": "Auto", "rlm": "RLM", "direct": "Direct"}
METHOD_HELP = (
    "Auto: the root model reads the documents itself when they fit its window (one call, "
    "seconds), else the RLM works on them. RLM: always the RLM. Direct: always one call that "
    "reads the documents, cut to the window if they do not fit."
)


def local_model_problem(name: str) -> str | None:
    """Why the local model `name` (catalogue name or GGUF path) cannot run yet, if it cannot."""
    from rlm_engine.local_models import resolve_model_file

    try:
        resolve_model_file(name)
    except RLMError as exc:
        return str(exc)
    return None


def _provider_changed(key: str, role: str) -> None:
    st.session_state[f"{key}-model"] = suggested_model(st.session_state[f"{key}-provider"], role)


def model_picker(
    title: str,
    *,
    key: str,
    role: str,
    credentials: Credentials,
    model: str | None = None,
    provider: str | None = None,
    stacked: bool = False,
) -> ModelSpec:
    """A provider and a model name, side by side (or `stacked`, for narrow columns); warns (in
    the page) when the provider has no key.

    Starts on `provider` (or the default one) with `model` (or the provider's suggested model)."""
    provider = provider or default_provider(credentials)
    left, right = (st.container(), st.container()) if stacked else st.columns([2, 3])
    with left:
        chosen = kept(
            st.selectbox,
            f"{title} provider",
            key=f"{key}-provider",
            default=provider,
            options=list(PROVIDERS),
            format_func=lambda p: (
                provider_title(p) + ("" if has_key(p, credentials) else " (no key)")
            ),
            on_change=_provider_changed,
            args=(key, role),
        )
    with right:
        default_model = model or suggested_model(provider, role)
        model = kept(st.text_input, f"{title} model", key=f"{key}-model", default=default_model)
        model = model.strip() or suggested_model(chosen, role)
        model_list_picker(title, key=key, provider=chosen, credentials=credentials)
    problem = local_model_problem(model) if chosen == "local" else None
    if problem:
        st.caption(f":orange[:material/cloud_off: {problem}]")
    if not has_key(chosen, credentials):
        st.caption(
            f":orange[:material/key_off: No {provider_title(chosen)} key: add one on the Settings "
            f"page or set {PROVIDERS[chosen].key_var}.]"
        )
    return ModelSpec(chosen, model)


def budgets_picker(*, key: str) -> Budgets:
    """The main budgets, starting from APP_BUDGETS; 0 means no limit where one is optional."""
    start = APP_BUDGETS
    cols = st.columns(5)
    with cols[0]:
        iterations = kept(
            st.number_input, "Max iterations", key=f"{key}-iter", default=start.max_iterations,
            min_value=1, max_value=200, help="Root turns before a forced answer.",
        )  # fmt: skip
    with cols[1]:
        sub_calls = kept(
            st.number_input, "Max sub-calls", key=f"{key}-sub", default=start.max_sub_calls or 0,
            min_value=0, max_value=100_000, help="0: no limit.",
        )  # fmt: skip
    with cols[2]:
        depth = kept(
            st.number_input, "Max depth", key=f"{key}-depth", default=start.max_depth,
            min_value=1, max_value=3, help="2 lets rlm_query start child RLMs.",
        )  # fmt: skip
    with cols[3]:
        cost = kept(
            st.number_input, "Max cost (USD)", key=f"{key}-cost",
            default=start.max_cost_usd or 0.0, min_value=0.0, max_value=1000.0, step=0.5,
            help="0: no limit.",
        )  # fmt: skip
    with cols[4]:
        minutes = kept(
            st.number_input, "Max time (min)", key=f"{key}-time",
            default=int((start.max_time_s or 0) // 60), min_value=0, max_value=600,
            help="0: no limit.",
        )  # fmt: skip
    return Budgets(
        max_iterations=int(iterations),
        max_depth=int(depth),
        max_sub_calls=int(sub_calls) or None,
        max_cost_usd=float(cost) or None,
        max_time_s=float(minutes) * 60 or None,
    )


def run_config(
    root: ModelSpec,
    sub: ModelSpec | None,
    budgets: Budgets,
    price_overrides: dict[str, tuple[float, float]],
    **extra: Any,
) -> RunConfig:
    return RunConfig(
        root=root, sub=sub, budgets=budgets, price_overrides=dict(price_overrides), **extra
    )


def method_picker(*, key: str) -> str:
    """How the question is answered: auto (the app's default), RLM or direct reading."""
    chosen = kept(
        st.segmented_control,
        "Method",
        key=f"{key}-method",
        default="auto",
        options=list(METHOD_TITLES),
        format_func=METHOD_TITLES.__getitem__,
        required=True,
        help=METHOD_HELP,
    )
    return chosen or "auto"
