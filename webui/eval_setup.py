"""The Evaluate page's set-up: a question set (generated, uploaded or saved, editable), the
corpus, 1-6 configurations (Compare's widgets), the options, and the start."""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from rlm_eval.configs import ConfigError, EvalConfig, check
from rlm_eval.questions import Question, SetError, parse_set, to_csv, to_jsonl, validate
from rlm_eval.suite import DEFAULT_QUESTIONS, KINDS, MAX_SIZE, MIN_SIZE
from webui.compare_flow import configuration_picker, unique_labels
from webui.config_form import budgets_picker
from webui.eval_job import EvalPage, start_job
from webui.model_choices import ask_models
from webui.safe_text import safe_markdown
from webui.state import Settings, kept
from webui.trace import plural

if TYPE_CHECKING:
    from rlm_engine.config import Budgets, ModelSpec
    from storage import Database
    from storage.evals import EvalSetInfo

MAX_CONFIGS = 6
SOURCES = {"generate": "Generate a built-in suite", "upload": "Upload a set", "saved": "Saved set"}


def pick_set(page: EvalPage, db: Database) -> list[Question] | None:
    """The set for the next evaluation (stored; its id in page.set_id), or None yet."""
    source = kept(
        st.segmented_control,
        "Question set",
        key="ev-source",
        default="generate",
        options=list(SOURCES),
        format_func=SOURCES.__getitem__,
        required=True,
    )
    if source == "generate":
        _generate(page, db)
    elif source == "upload":
        _upload(page, db)
    sets = {s.id: s for s in db.evals.list_sets()}
    if not sets:
        return None
    ids = list(sets)
    if page.set_id not in sets:
        page.set_id = ids[0]
    page.set_id = st.selectbox(
        "Set to run",
        ids,
        index=ids.index(page.set_id),
        format_func=lambda i: f"{sets[i].name} · {plural(len(sets[i].questions), 'question')}",
        key=f"ev-set-{page.set_id}",
    )
    return _edit(db, sets[page.set_id])


def _generate(page: EvalPage, db: Database) -> None:
    from rlm_engine.corpus import load_paths
    from rlm_eval.suite import make_suite, write_suite

    cols = st.columns(4)
    kind = cols[0].selectbox("Suite", KINDS, key="ev-kind")
    size = cols[1].number_input(
        "Corpus characters", MIN_SIZE, MAX_SIZE, 64_000, step=8_000, key="ev-size"
    )
    seed = cols[2].number_input("Seed", 0, 1_000_000, 0, key="ev-seed")
    count = cols[3].number_input("Questions", 1, 200, DEFAULT_QUESTIONS, key="ev-n")
    if st.button("Generate", icon=":material/auto_awesome:", key="ev-generate"):
        suite = make_suite(kind, int(size), int(seed), int(count))
        name = f"{kind} {int(size):,} chars, seed {int(seed)}"
        with tempfile.TemporaryDirectory() as tmp:
            write_suite(suite, Path(tmp))
            corpus = load_paths(Path(tmp) / "corpus")
        page.corpus_id = db.save_corpus(name, list(corpus.documents)).id
        page.set_id = db.evals.save_set(name, [q.to_json() for q in suite.questions])
        st.toast(f"Generated {name}: corpus and set saved.", icon=":material/check:")


def _upload(page: EvalPage, db: Database) -> None:
    upload = st.file_uploader("Set file (JSONL or CSV)", type=["jsonl", "csv"], key="ev-upload")
    if upload is None:
        return
    try:
        questions = parse_set(upload.getvalue().decode("utf-8"), upload.name)
    except (SetError, UnicodeDecodeError) as exc:
        st.error(safe_markdown(f"{upload.name}: {exc}"), icon=":material/error:")
        return
    label = safe_markdown(f"Save {upload.name} ({plural(len(questions), 'question')})")
    if st.button(label, key="ev-save-up"):
        page.set_id = db.evals.save_set(Path(upload.name).stem, [q.to_json() for q in questions])
        st.toast("Set saved.", icon=":material/check:")
        st.rerun()


COLUMNS = ["id", "question", "expected", "grader", "tolerance", "rel_tolerance", "threshold"]


def _edit(db: Database, saved: EvalSetInfo) -> list[Question] | None:
    """The set's questions in an editor; saving checks every row, naming the bad one."""
    try:  # a set stored by another program is checked like an upload
        checked = _from_rows(
            [dict(q, expected=json.dumps(q.get("expected"))) for q in saved.questions]
        )
    except SetError as exc:
        st.error(safe_markdown(f"{saved.name}: {exc}"), icon=":material/error:")
        return None
    rows = [
        {k: json.dumps(q[k]) if k == "expected" else q.get(k) for k in COLUMNS}
        for q in saved.questions
    ]
    title = safe_markdown(f"Questions of {saved.name} (edit, export)")
    with st.expander(title, icon=":material/edit_note:"):
        st.caption('`expected` is JSON: "text", a number, or a list such as ["a", "b"].')
        edited = st.data_editor(
            rows,
            num_rows="dynamic",
            width="stretch",
            key=f"ev-editor-{saved.id}",
            column_config={
                "grader": st.column_config.SelectboxColumn(
                    options=["exact", "contains", "number", "regex", "set", "judge"]
                )
            },
        )
        questions = checked
        cols = st.columns([1, 1, 1, 3])
        if cols[0].button("Save changes", key=f"ev-save-{saved.id}"):
            try:
                questions = _from_rows(edited)
            except SetError as exc:
                st.error(safe_markdown(f"Not saved: {exc}"), icon=":material/error:")
            else:
                db.evals.update_set(saved.id, saved.name, [q.to_json() for q in questions])
                st.toast("Set saved.", icon=":material/check:")
        cols[1].download_button(
            "JSONL",
            to_jsonl(questions),
            f"{saved.name}.jsonl",
            icon=":material/download:",
            key=f"ev-jsonl-{saved.id}",
        )
        cols[2].download_button(
            "CSV",
            to_csv(questions),
            f"{saved.name}.csv",
            icon=":material/download:",
            key=f"ev-csv-{saved.id}",
        )
    return checked


def _from_rows(rows: list[dict[str, Any]]) -> list[Question]:
    questions = []
    for n, row in enumerate(rows, start=1):
        data = {k: v for k, v in row.items() if v not in (None, "")}
        if "expected" in data:
            with contextlib.suppress(TypeError, json.JSONDecodeError):  # else: plain text
                data["expected"] = json.loads(data["expected"])
        questions.append(validate(data, n, f"q{n:03d}"))
    if len({q.id for q in questions}) != len(questions):
        raise SetError(0, "two rows have the same id")
    return questions


def pick_corpus(page: EvalPage, db: Database) -> int | None:
    corpora = {c.id: c for c in db.list_corpora()}
    if not corpora:
        st.info(
            "Generate a suite, or upload files on the Corpora page first.", icon=":material/info:"
        )
        return None
    ids = list(corpora)
    chosen = page.corpus_id if page.corpus_id in corpora else ids[0]
    return st.selectbox(
        "Corpus",
        ids,
        index=ids.index(chosen),
        format_func=lambda i: f"{corpora[i].name} · {plural(corpora[i].n_documents, 'document')}",
        key=f"ev-corpus-{page.corpus_id}",
    )


def pick_configs(prefs: Settings) -> list[EvalConfig]:
    """1-6 configurations with Compare's widgets; names from their models (made unique)."""
    count = (
        kept(
            st.segmented_control,
            "Configurations",
            key="ev-count",
            default=2,
            options=list(range(1, MAX_CONFIGS + 1)),
            required=True,
        )
        or 2
    )
    credentials = prefs.credentials()
    ask = ask_models(credentials)  # every configuration starts from Ask's (the 2nd: sub as root)
    picked = []
    per_row = min(count, 3)
    for start in range(0, count, per_row):
        for offset, column in enumerate(st.columns(per_row, border=True)):
            position = start + offset
            if position >= count:
                continue
            with column:
                picked.append(  # the method starts at the CLI's default
                    configuration_picker(
                        ask, credentials, position, prefix="ev", stacked=True, method="rlm"
                    )
                )
    with st.expander("Budgets (the same for every configuration)", icon=":material/tune:"):
        budgets = budgets_picker(key="ev-budgets")
    names = unique_labels([_name(r, s, m) for r, s, m in picked])
    return [
        EvalConfig(name, _settings(r, s, m, budgets, prefs.price_overrides))
        for name, (r, s, m) in zip(names, picked, strict=True)
    ]


def _name(root: ModelSpec, sub: ModelSpec, method: str) -> str:
    name = root.model if sub.label == root.label else f"{root.model} → {sub.model}"
    name = f"{name} · {method}".replace(":", "/").replace(",", " ")  # llama3:8b is a model name
    return name[:70]


def _settings(
    root: ModelSpec,
    sub: ModelSpec,
    method: str,
    budgets: Budgets,
    prices: dict[str, tuple[float, float]],
) -> dict[str, str]:
    settings = {
        "provider": root.provider,
        "model": root.model,
        "sub-provider": sub.provider,
        "sub-model": sub.model,
        "method": method,
        "max-iterations": str(budgets.max_iterations),
        "max-depth": str(budgets.max_depth),
    }
    optional = {
        "max-sub-calls": budgets.max_sub_calls,
        "max-cost": budgets.max_cost_usd,
        "timeout": budgets.max_time_s,
    }
    settings.update({k: str(v) for k, v in optional.items() if v is not None})
    if prices:
        settings["price"] = ";".join(f"{m}={i},{o}" for m, (i, o) in prices.items())
    return settings


def start(
    page: EvalPage,
    db: Database,
    prefs: Settings,
    questions: list[Question],
    corpus_id: int,
    configs: list[EvalConfig],
) -> None:
    """Options, then the Run button: the evaluation is stored and its job started."""
    from rlm_eval import service
    from rlm_eval.configs import judge_spec
    from webui.resources import hidden_paths

    cols = st.columns(4)
    parallel = cols[0].number_input("Parallel runs per provider", 1, 32, 4, key="ev-parallel")
    repeat = cols[1].number_input("Repeat each cell", 1, 20, 1, key="ev-repeat")
    cap = cols[2].number_input("Cost cap (USD, 0: none)", 0.0, 10_000.0, 0.0, key="ev-cap")
    judge_text = cols[3].text_input("Judge (provider=...,model=...)", key="ev-judge")
    busy = page.job is not None and not page.job.done
    if not st.button("Run evaluation", type="primary", disabled=busy, key="ev-run"):
        return
    credentials = prefs.credentials()
    try:
        for config in configs:
            check(config)
        judge = judge_spec(judge_text.strip() or None, credentials)
    except ConfigError as exc:
        st.error(safe_markdown(str(exc)), icon=":material/error:")
        return
    if judge is None and any(q.grader == "judge" for q in questions):
        st.error(
            "This set has judge-graded questions: name a judge model.", icon=":material/gavel:"
        )
        return
    eval_id = service.create(
        db,
        name=db.evals.get_set(page.set_id).name,
        questions=questions,
        corpus_id=corpus_id,
        configs=configs,
        judge=judge,
        parallel=int(parallel),
        repeat=int(repeat),
        max_cost_usd=float(cap) or None,
        set_id=page.set_id,
    )
    context = db.corpus_context(corpus_id)
    page.job = start_job(db, eval_id, context, credentials, hidden_paths())
    page.shown_id = eval_id
    st.rerun()
