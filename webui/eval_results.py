"""The Evaluate page's results: live progress, per-configuration figures, the accuracy-vs-cost
chart with its Pareto front, the pass/fail matrix (answers on hover, traces on demand), two
evaluations of one set compared, exports, and the list of past evaluations.

Model text is only ever shown as data (table cells, chart tooltips, plain text), never as
Markdown or HTML.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import altair as alt
import streamlit as st

from rlm_eval.results import compare, disagreements, pareto, summarise, to_csv, to_json
from webui.eval_job import EvalPage
from webui.review import draw_stored_run, when
from webui.safe_text import safe_markdown
from webui.trace import format_cost, format_seconds

if TYPE_CHECKING:
    from rlm_eval.results import ConfigSummary
    from storage import Database
    from storage.evals import EvaluationInfo
    from webui.state import Settings

POLL_S = 0.5
PASS, FAIL, NOT_RUN = "✓", "✗", "·"


def progress(page: EvalPage) -> None:
    """The running evaluation's progress bar, ETA and Stop, redrawn while it runs."""
    if page.job is None:
        return

    @st.fragment(run_every=POLL_S if not page.job.done else None)
    def live() -> None:
        job = page.job
        p = job.progress
        if p is not None:
            share = p.done / p.total if p.total else 1.0
            eta = "" if p.eta_s is None else f" · about {format_seconds(p.eta_s)} left"
            st.progress(
                share,
                text=f"{p.done} of {p.total} cells · {p.passed} passed · "
                f"{format_cost(p.spent_usd)} · {p.running} running{eta}",
            )
        if not job.done:
            if st.button("Stop", icon=":material/stop_circle:", key="ev-stop"):
                job.stop.set()
            return
        if job.error:
            st.error(safe_markdown(f"The evaluation stopped: {job.error}"), icon=":material/error:")
        else:
            st.caption(f"Evaluation {job.eval_id}: {job.status}.")
        if st.session_state.get("ev-ended") != job.eval_id:
            st.session_state["ev-ended"] = job.eval_id
            st.rerun()  # draw the final results once, outside the fragment

    live()


def past(page: EvalPage, db: Database) -> None:
    """Past evaluations, newest first; picking one shows its results."""
    rows = db.evals.list()
    if not rows:
        st.info("No evaluation yet.", icon=":material/info:")
        return
    by_id = {e.id: e for e in rows}
    ids = list(by_id)
    current = page.shown_id if page.shown_id in by_id else ids[0]
    page.shown_id = st.selectbox(
        "Evaluation",
        ids,
        index=ids.index(current),
        format_func=lambda i: (
            f"{when(by_id[i].created_at)} · {by_id[i].name} · "
            f"{by_id[i].status} · {by_id[i].n_cells}/{by_id[i].total_cells} cells"
        ),
        key=f"ev-pick-{current}",
    )


def results(page: EvalPage, db: Database, prefs: Settings) -> None:
    info = db.evals.get(page.shown_id) if page.shown_id else None
    if info is None:
        return
    st.subheader(safe_markdown(f"{info.name} · {info.status}"))
    st.caption(
        f"{info.id} · {len(info.cells)} of {info.total_cells} cells · "
        f"{format_seconds(info.elapsed_s)}"
    )
    running = page.job is not None and not page.job.done and page.job.eval_id == info.id
    if info.status in ("interrupted", "stopped", "limit", "failed") and not running:
        _resume_button(page, db, info, prefs)
    summaries = summarise(info)
    st.dataframe([_summary_row(s) for s in summaries], hide_index=True, width="stretch")
    _chart(summaries)
    _matrix(info, db)
    _compare(info, db)
    cols = st.columns([1, 1, 4])
    cols[0].download_button(
        "Export CSV",
        to_csv(info),
        f"{info.id}.csv",
        "text/csv",
        icon=":material/download:",
        key="ev-export-csv",
    )
    cols[1].download_button(
        "Export JSON",
        json.dumps(to_json(info), indent=2, ensure_ascii=False),
        f"{info.id}.json",
        "application/json",
        icon=":material/download:",
        key="ev-export-json",
    )


def _resume_button(page: EvalPage, db: Database, info: EvaluationInfo, prefs: Settings) -> None:
    from rlm_eval.service import context_of
    from webui.eval_job import start_job
    from webui.resources import hidden_paths

    if st.button("Resume (run the cells not done)", icon=":material/play_arrow:", key="ev-resume"):
        page.job = start_job(db, info.id, context_of(db, info), prefs.credentials(), hidden_paths())
        st.rerun()


def _summary_row(s: ConfigSummary) -> dict[str, Any]:
    return {
        "configuration": s.name,
        "accuracy": f"{s.correct}/{s.total} ({s.accuracy:.0%})",
        "95% interval": f"{s.ci95[0]:.0%} – {s.ci95[1]:.0%}",
        "mean cost": format_cost(s.cost_usd),
        "median time": format_seconds(s.median_elapsed_s),
        "p90 time": format_seconds(s.p90_elapsed_s),
        "tokens": s.input_tokens + s.output_tokens,
        "sub-calls": s.sub_calls,
        "failed runs": s.failed,
    }


def _chart(summaries: list[ConfigSummary]) -> None:
    unknown = [s.name for s in summaries if s.cost_usd is None]
    if unknown:
        names = safe_markdown(", ".join(unknown))
        st.caption(f"Not on the chart (a price is unknown): {names}")
    points = [(s.name, s.cost_usd, s.accuracy) for s in summaries if s.cost_usd is not None]
    if not points:
        return
    front = set(pareto(points))
    data = [
        {
            "configuration": s.name,
            "mean cost (USD)": s.cost_usd,
            "accuracy": s.accuracy,
            "low": s.ci95[0],
            "high": s.ci95[1],
            "Pareto front": "on the front" if s.name in front else "dominated",
        }
        for s in summaries
        if s.cost_usd is not None
    ]
    base = alt.Chart(alt.Data(values=data)).encode(
        x=alt.X("mean cost (USD):Q", scale=alt.Scale(zero=True)),
        y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
    )
    bars = base.mark_rule().encode(y="low:Q", y2="high:Q")
    dots = base.mark_point(filled=True, size=120).encode(
        color=alt.Color("Pareto front:N"),
        tooltip=["configuration:N", "accuracy:Q", "mean cost (USD):Q"],
    )
    line = (
        alt.Chart(alt.Data(values=[d for d in data if d["configuration"] in front]))
        .mark_line(strokeDash=[4, 3])
        .encode(x="mean cost (USD):Q", y="accuracy:Q", order="mean cost (USD):Q")
    )
    labels = base.mark_text(align="left", dx=8).encode(text="configuration:N")
    st.altair_chart(bars + line + dots + labels, width="stretch")


def _matrix(info: EvaluationInfo, db: Database) -> None:
    names = [c["name"] for c in info.configs]
    cells = {(c.question_id, c.config_name): c for c in info.cells if c.repeat == 0}
    only = st.toggle("Only where configurations disagree", key=f"ev-disagree-{info.id}")
    keep = set(disagreements(info)) if only else {q["id"] for q in info.questions}
    questions = [q for q in info.questions if q["id"] in keep]
    tiles = []
    for q in questions:
        for name in names:
            cell = cells.get((q["id"], name))
            verdict = "not run" if cell is None else ("pass" if cell.passed else "fail")
            answer = "" if cell is None else (cell.answer or cell.error or "")[:500]
            expected = json.dumps(q["expected"], ensure_ascii=False)[:200]
            tiles.append(
                {
                    "question": q["id"],
                    "configuration": name,
                    "result": verdict,
                    "answer": answer,
                    "expected": expected,
                }
            )
    if tiles:
        heat = (
            alt.Chart(alt.Data(values=tiles))
            .mark_rect(stroke="white")
            .encode(
                x=alt.X("configuration:N", sort=names),
                y=alt.Y("question:N", sort=[q["id"] for q in questions]),
                color=alt.Color(
                    "result:N",
                    scale=alt.Scale(
                        domain=["pass", "fail", "not run"], range=["#2e9e5b", "#d1495b", "#c8c8c8"]
                    ),
                ),
                tooltip=["question:N", "configuration:N", "result:N", "expected:N", "answer:N"],
            )
            .add_params(alt.selection_point(name="cell", fields=["question", "configuration"]))
        )
        event = st.altair_chart(
            heat, width="stretch", on_select="rerun", key=f"ev-heat-{info.id}-{only}"
        )
        clicked = (event.selection.get("cell") or [None])[0] if event else None
        target = clicked and (clicked.get("question"), clicked.get("configuration"))
        last = f"ev-heat-last-{info.id}"
        if target in cells and st.session_state.get(last) != target:  # a new click, not a rerun
            st.session_state[last] = target
            st.session_state[f"ev-open-{info.id}"] = target
    rows = []
    for q in questions:
        row = {"id": q["id"], "question": q["question"]}
        for name in names:
            cell = cells.get((q["id"], name))
            mark = NOT_RUN if cell is None else (PASS if cell.passed else FAIL)
            row[name] = mark if cell is None else f"{mark} {(cell.answer or cell.error or '')[:80]}"
        rows.append(row)
    st.dataframe(rows, hide_index=True, width="stretch", key=f"ev-matrix-{info.id}")
    options = [(q["id"], n) for q in info.questions for n in names if (q["id"], n) in cells]
    picked = st.selectbox(
        "Open a cell's trace (or click it in the matrix)",
        options,
        index=None,
        format_func=lambda k: f"{k[0]} × {k[1]}",
        placeholder="Question × configuration",
        key=f"ev-open-{info.id}",
    )
    if picked is not None:
        cell = cells[picked]
        st.text(f"Answer: {cell.answer or cell.error or ''}")
        if cell.grade:
            st.json(cell.grade, expanded=False)
        run = db.get_run(cell.run_id) if cell.run_id else None
        if run is not None:
            draw_stored_run(db, run, key=f"ev-trace-{cell.run_id}")


def _compare(info: EvaluationInfo, db: Database) -> None:
    same = [(q["id"], q["question"]) for q in info.questions]
    others = [
        e
        for e in db.evals.list()
        if e.id != info.id and [(q["id"], q["question"]) for q in e.questions] == same
    ]
    if not others:
        return
    with st.expander("Compare with another evaluation of this set", icon=":material/difference:"):
        by_id = {e.id: e for e in others}
        other_id = st.selectbox(
            "Earlier evaluation",
            list(by_id),
            format_func=lambda i: f"{when(by_id[i].created_at)} · {i}",
            key=f"ev-cmp-{info.id}",
        )
        before = db.evals.get(other_id)
        diff = (
            compare(before, info) if before.created_at < info.created_at else compare(info, before)
        )
        st.write(
            f"Improved: {len(diff['improved'])} · regressed: {len(diff['regressed'])} · "
            f"unchanged: {len(diff['same'])}"
        )
        rows = [
            {"question": q, "configuration": c, "change": change}
            for change in ("improved", "regressed")
            for q, c in diff[change]
        ]
        if rows:
            st.dataframe(rows, hide_index=True, width="stretch")
