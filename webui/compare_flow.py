"""The Compare page's three parts: a new comparison (run concurrently), saved ones, picked runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from webui.compare_view import draw_entries, entry_from_handle, entry_from_summary
from webui.config_form import budgets_picker, method_picker, model_picker, run_config
from webui.model_choices import ask_models
from webui.resources import database
from webui.review import when
from webui.runner import start_run
from webui.safe_text import safe_markdown
from webui.sources_view import corpus_documents
from webui.state import CompareState, Settings, Workspace, kept
from webui.trace import plural

if TYPE_CHECKING:
    from rlm_engine.config import Credentials, ModelSpec, RunConfig
    from storage import ComparisonInfo, Database, RunSummary

POLL_S = 0.5
MAX_CONFIGS = 4


def new_comparison(state: CompareState, db: Database, prefs: Settings, ws: Workspace) -> None:
    corpora = {c.id: c for c in db.list_corpora()}
    if not corpora:
        st.info(
            "Compare needs a saved corpus: upload files on the Corpora page (New corpus from "
            "files), or on the Ask page (they are saved when you ask).",
            icon=":material/info:",
        )
        return
    ids = list(corpora)
    corpus_id = st.selectbox(
        "Corpus",
        ids,
        index=ids.index(ws.corpus_id) if ws.corpus_id in corpora else 0,
        format_func=lambda i: f"{corpora[i].name} · {plural(corpora[i].n_documents, 'document')}",
        key="cmp-corpus",
    )
    count = kept(
        st.segmented_control,
        "Configurations",
        key="cmp-count",
        default=2,
        options=[2, 3, 4],
        required=True,
    )
    credentials = prefs.credentials()
    ask = ask_models(credentials)
    specs = []
    for position, column in enumerate(st.columns(count or 2, border=True)):
        with column:
            root, sub, method = configuration_picker(
                ask, credentials, position, prefix="cmp", stacked=(count or 2) > 2
            )
            specs.append((root, sub, method))
    with st.expander("Budgets (the same for every configuration)", icon=":material/tune:"):
        budgets = budgets_picker(key="cmp-budgets")
    with st.form("cmp-ask", border=False):  # Ctrl+Enter in the question runs the comparison
        question = kept(
            st.text_area,
            "Question",
            key="cmp-question",
            default="",
            height=80,
            placeholder="One question for every configuration (Ctrl+Enter runs them)",
        )
        run = st.form_submit_button(
            "Run comparison", type="primary", disabled=state.running, key="cmp-run"
        )
    if run and not state.running:
        if not question.strip():
            st.warning("Type a question first.", icon=":material/edit:")
            return
        configs = [run_config(r, s, budgets, prefs.price_overrides, method=m) for r, s, m in specs]
        labels = unique_labels([_label(r, s, m) for r, s, m in specs])
        start(state, db, credentials, corpus_id, question.strip(), configs, labels)
        st.rerun()
    if state.handles:
        st.divider()
        st.subheader(safe_markdown(state.question))
        draw_live(state)


def _label(root: ModelSpec, sub: ModelSpec, method: str) -> str:
    """A configuration's label: its models, and its method unless it is the default (auto)."""
    label = f"{root.label} → {sub.label}"
    return label if method == "auto" else f"{label} · {method}"


def unique_labels(labels: list[str]) -> list[str]:
    """Labels that tell the configurations apart (and order a reopened comparison): the same
    models twice become "… (2)"."""
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return unique


def in_label_order(comparison: ComparisonInfo) -> list[RunSummary]:
    """A comparison's runs in the order of its configurations (they start at once, so their
    start times do not say it); runs whose label is unknown come last, oldest first."""
    position = {label: n for n, label in enumerate(comparison.labels)}
    return sorted(comparison.runs, key=lambda r: position.get(r.label, len(position)))


def configuration_picker(
    ask: dict[str, tuple[str, str]],
    credentials: Credentials,
    position: int,
    *,
    prefix: str,
    stacked: bool,
    method: str | None = None,
) -> tuple[ModelSpec, ModelSpec, str]:
    """One configuration's column on Compare and Evaluate: its root and sub models, starting from
    Ask's (see starting_root), and its method (`method`: its first value, else the app's)."""
    st.markdown(f"**Configuration {position + 1}**")
    root_provider, root_model = starting_root(ask, position)
    root = model_picker(
        "Root",
        key=f"{prefix}-{position}-root",
        role="root",
        credentials=credentials,
        provider=root_provider,
        model=root_model,
        stacked=stacked,
    )
    sub = model_picker(
        "Sub",
        key=f"{prefix}-{position}-sub",
        role="sub",
        credentials=credentials,
        provider=ask["sub"][0],
        model=ask["sub"][1],
        stacked=stacked,
    )
    if method is not None:
        st.session_state.setdefault(f"{prefix}-{position}-method", method)
    return root, sub, method_picker(key=f"{prefix}-{position}")


def starting_root(ask: dict[str, tuple[str, str]], position: int) -> tuple[str, str]:
    """Where a configuration's root starts: Ask's root; the second one Ask's sub model, for a
    cost/quality contrast."""
    return ask["sub"] if position == 1 else ask["root"]


def start(
    state: CompareState,
    db: Database,
    credentials: Credentials,
    corpus_id: int,
    question: str,
    configs: list[RunConfig],
    labels: list[str],
) -> None:
    """One engine session (own sandbox) per configuration, all running at once, all recorded."""
    from rlm_engine import Session
    from rlm_engine.sources import CorpusIndex, source_documents
    from webui.resources import hidden_paths

    context = db.corpus_context(corpus_id)
    hidden = hidden_paths()
    comparison_id = db.create_comparison(question, corpus_id, labels)
    documents = db.get_corpus(corpus_id).documents
    index = CorpusIndex(source_documents(context, documents))  # one for all the sessions
    handles = []
    for label, config in zip(labels, configs, strict=True):
        session = Session(context, credentials=credentials, hidden_paths=hidden, sources=index)
        recorder = db.recorder(corpus_id=corpus_id, comparison_id=comparison_id, label=label)
        handles.append(
            start_run(
                session, question, config, recorder=recorder, label=label, on_done=session.close
            )
        )
    state.question, state.handles, state.corpus_id = question, handles, corpus_id


def draw_live(state: CompareState) -> None:
    running = state.running

    @st.fragment(run_every=POLL_S if running else None)
    def panel() -> None:
        if running and not state.running:
            st.rerun()
        if state.running:
            st.button(
                "Stop all",
                icon=":material/stop_circle:",
                key="cmp-stop",
                on_click=lambda: [h.stop() for h in state.handles],
            )
        documents = corpus_documents(database(), state.corpus_id)
        draw_entries([entry_from_handle(h, documents) for h in state.handles], key="cmp-live")

    panel()


def saved_comparisons(db: Database) -> None:
    comparisons = {c.id: c for c in db.list_comparisons()}
    if not comparisons:
        st.info("No saved comparison yet.", icon=":material/info:")
        return
    chosen = st.selectbox(
        "Comparison",
        list(comparisons),
        index=None,
        format_func=lambda i: (
            f"{when(comparisons[i].created_at)} · {comparisons[i].question[:80]}"
            f" · {plural(len(comparisons[i].labels), 'configuration')}"
        ),
        placeholder="Choose a comparison to reopen",
        key="cmp-saved",
    )
    if chosen is None:
        return
    comparison = db.get_comparison(chosen)
    if comparison is None:
        st.warning("This comparison was deleted.")
        return
    st.subheader(safe_markdown(comparison.question))
    with st.popover("Delete comparison", icon=":material/delete:"):
        st.write("Delete this comparison? Its runs stay in History.")
        if st.button("Delete comparison", type="primary", key="cmp-saved-delete"):
            db.delete_comparison(comparison.id)
            st.session_state.pop("cmp-saved", None)
            st.toast("Comparison deleted.", icon=":material/delete:")
            st.rerun()
    if not comparison.runs:
        st.info("Its runs were deleted.", icon=":material/info:")
        return
    entries = [entry_from_summary(db, r) for r in in_label_order(comparison)]
    draw_entries(entries, key=f"cmp-saved-{chosen}")


def picked_runs(db: Database) -> None:
    runs = {r.run_id: r for r in db.list_runs(limit=200)}
    if len(runs) < 2:
        st.info("Runs appear here once there are at least two in History.", icon=":material/info:")
        return
    chosen = st.multiselect(
        "Runs to compare (2 to 4)",
        list(runs),
        format_func=lambda i: (
            f"{when(runs[i].started_at)} · {runs[i].question[:60]} · {runs[i].root_model}"
        ),
        max_selections=MAX_CONFIGS,
        key="cmp-picked",
    )
    if len(chosen) < 2:
        st.caption("Pick at least two runs.")
        return
    draw_entries([entry_from_summary(db, runs[i]) for i in chosen], key="cmp-picked-view")
