"""Drawing a `Trace`: totals, one expandable panel per iteration, the answer.

Used live by the Ask page (from a polling fragment) and for review by History and Compare, so a
saved run looks the way it looked while it ran. `key` keeps widget keys unique per run.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from rlm_engine.trace import CodeBlock, Iteration, SubCall, Totals, Trace, batch_order
from webui.safe_text import safe_markdown
from webui.sources_view import DocumentLoader, draw_passages, draw_sources
from webui.timeline import panel_anchor
from webui.trace import (
    cache_note,
    format_cost,
    format_seconds,
    format_speed,
    format_tokens,
    notice_line,
    plural,
)

STATUS_BADGES = {
    None: ":blue-badge[:material/progress_activity: running]",
    "completed": ":green-badge[:material/check: completed]",
    "limit": ":orange-badge[:material/speed: budget reached]",
    "failed": ":red-badge[:material/error: failed]",
    "cancelled": ":gray-badge[:material/stop_circle: stopped]",
    "running": ":blue-badge[:material/progress_activity: running]",
    "interrupted": ":gray-badge[:material/link_off: interrupted]",
}
_PREVIEW = 80
# A panel lists this many sub-calls at first, and as many more on each "Show more": a block of a
# thousand sub-calls drawn at once kept its panel (and the page) from showing for seconds.
SUB_CALL_PAGE = 50
# Numbers first, then the long texts: at 1280 px the texts are cut, never the numbers.
_SUB_CALL_COLUMNS = {
    "#": st.column_config.NumberColumn("#", width=40),
    "tokens": st.column_config.TextColumn("Tokens", width=60),
    "cost": st.column_config.TextColumn("Cost", width=70),
    "time": st.column_config.TextColumn("Time", width=60),
    "speed": st.column_config.TextColumn("Speed", width=80),
    "kind": st.column_config.TextColumn("Kind", width=45),
    "model": st.column_config.TextColumn("Model", width=130),
    "prompt": st.column_config.TextColumn("Prompt", width="medium"),
    "response": st.column_config.TextColumn("Response", width="medium"),
}


def status_badge(status: str | None) -> str:
    return STATUS_BADGES.get(status, f":gray-badge[{status}]")


def draw_totals(totals: Totals) -> None:
    """Running (or final) totals in one row of metrics."""
    cols = st.columns(5)
    cols[0].metric("Iterations", totals.iterations)
    cols[1].metric("Sub-calls", totals.sub_calls)
    cols[2].metric(
        "Tokens",
        format_tokens(totals.tokens),
        help=_tokens_help(totals),
    )
    cols[3].metric("Cost", format_cost(totals.cost_usd), help="Unknown when a price is unknown.")
    cols[4].metric("Time", format_seconds(totals.elapsed_s))


def _tokens_help(totals: Totals) -> str:
    text = f"{totals.input_tokens:,} in, {totals.output_tokens:,} out"
    cache = cache_note(totals.cached_tokens, totals.cache_write_tokens)
    return f"{text} ({cache} of the input; priced at the cache rates)" if cache else text


def draw_streaming(text: str | None, *, key: str) -> None:
    """The root model's reply as it streams in (in a container keyed `{key}-streaming`); the
    iteration replaces it once complete."""
    if text is None:
        return
    with st.container(border=True, key=f"{key}-streaming"):
        st.caption(":blue[:material/progress_activity:] The root model is writing…")
        # Plain text, not st.code: the page loads st.code's highlighter the first time one is
        # shown, and the panel stood empty (a skeleton) that long, up to half a second.
        st.text(text or "…", width="stretch")


FALLBACK_ANSWER = (
    "Fallback answer: the run stalled, so the engine had the sub model read the corpus in chunks "
    "and combined their answers. Check it against the trace."
)
UNSUPPORTED_ANSWER = (
    "Unsupported: this answer appears in no REPL output the model saw (it was asked for evidence "
    "and answered without it). Check it before you rely on it."
)


def draw_answer(
    trace: Trace, *, key: str, error: str | None = None, documents: DocumentLoader | None = None
) -> None:
    """The answer, prominently (in a container keyed `{key}-answer`), and its sources (opened
    from `documents`, the corpus's documents by index); or why there is none."""
    error = trace.error or error
    if trace.answer:
        if trace.status == "limit":
            st.warning(
                "A budget ended this run: the answer below was forced.", icon=":material/timer:"
            )
        if trace.unsupported:
            st.warning(UNSUPPORTED_ANSWER, icon=":material/help:")
        if trace.fallback:
            st.info(FALLBACK_ANSWER, icon=":material/alt_route:")
        with st.container(border=True, key=f"{key}-answer"):
            st.markdown("**Answer**")
            st.markdown(safe_markdown(trace.answer))
        draw_sources(trace.sources, trace.answer, key=key, documents=documents)
    if trace.status == "cancelled":  # a stop is the user's choice, not a failure
        if not trace.answer:
            st.info(stopped_message(trace.totals), icon=":material/stop_circle:")
    elif trace.status == "failed" or (error and not trace.answer):
        st.error(safe_markdown(error) or "The run failed.", icon=":material/error:")


def stopped_message(totals: Totals) -> str:
    """What a stopped run kept, said calmly."""
    done = plural(totals.iterations, "iteration")
    if totals.sub_calls:
        done += f" and {plural(totals.sub_calls, 'sub-call')}"
    return (
        f"Stopped before an answer. What it did is kept: {done}, their tokens and cost, "
        "here and in History."
    )


def draw_iterations(
    trace: Trace,
    *,
    key: str,
    live: bool = False,
    start: int = 0,
    stop: int | None = None,
    preamble: bool = True,
) -> None:
    """One expander per iteration (those in [start, stop)); while live, the newest one is open.
    The run's notices come first, with the first iteration (`preamble=False`: drawn already)."""
    if start == 0 and preamble:
        if trace.method_reason:
            icon = ":material/menu_book:" if trace.method == "direct" else ":material/account_tree:"
            st.caption(f"{icon} {safe_markdown(trace.method_reason)}")
        for note in trace.notices:
            st.caption(f":material/info: {safe_markdown(notice_line(note))}")
    last = len(trace.iterations) - 1
    for position in range(start, len(trace.iterations) if stop is None else stop):
        iteration = trace.iterations[position]
        title = safe_markdown(_iteration_title(iteration))
        running = live and position == last
        # What the timeline's bars link to (app.py's style takes the anchor's gap away). Outside
        # the panel: a link into a closed panel opens it, and the page, taking it for new
        # content, scrolls to the bottom.
        st.html(f'<span class="rlm-anchor" id="{panel_anchor(key, position)}"></span>')
        with st.expander(title, expanded=running):
            draw_iteration(iteration, key=f"{key}-it{position}", running=running)


def _iteration_title(iteration: Iteration) -> str:
    name = "Forced final answer" if iteration.forced else f"Iteration {iteration.number}"
    n_blocks = len(iteration.blocks)
    n_calls = sum(len(b.sub_calls) for b in iteration.blocks) + len(iteration.running_sub_calls)
    parts = [
        name,
        iteration.model,
        n_blocks and plural(n_blocks, "code block"),
        n_calls and plural(n_calls, "sub-call"),
        f"{format_tokens(iteration.input_tokens + iteration.output_tokens)} tokens",
        iteration.cached_tokens and f"{format_tokens(iteration.cached_tokens)} cached",
        _iteration_time(iteration),
        format_speed(iteration.tokens_per_s),
    ]
    if iteration.notices:
        parts.append(":material/info:")
    return " · ".join(str(p) for p in parts if p)


def _iteration_time(iteration: Iteration) -> str:
    """The root call's time and its code's: a 65 s block is never hidden behind "1.0 s"."""
    if not iteration.blocks:
        return format_seconds(iteration.elapsed_s)
    total = iteration.elapsed_s + iteration.code_s
    return (
        f"{format_seconds(total)} (model {format_seconds(iteration.elapsed_s)}, "
        f"code {format_seconds(iteration.code_s)})"
    )


def draw_iteration(iteration: Iteration, *, key: str, running: bool = False) -> None:
    """One iteration's reasoning, code blocks and sub-calls; `running`: the code of the reply that
    has not finished is shown too, as soon as the reply is complete."""
    if iteration.reasoning:
        st.markdown("**Reasoning**")
        st.markdown(safe_markdown(iteration.reasoning))
    for block in iteration.blocks:
        _draw_block(block, key=f"{key}-b{block.index}")
    pending = iteration.pending_code if running and not iteration.fallback else []
    for n, code in enumerate(pending):
        state = "running…" if n == 0 else "waiting for the block before"
        st.markdown(
            f"**Code** · block {len(iteration.blocks) + n + 1} · "
            f":blue[:material/progress_activity: {state}]"
        )
        st.code(code, language="python")
        if n == 0 and iteration.running_sub_calls:
            _draw_sub_calls(batch_order(iteration.running_sub_calls), key=f"{key}-running")
    if iteration.running_sub_calls and iteration.fallback:
        st.markdown(":material/alt_route: **The engine's fallback** asked the sub model:")
        _draw_sub_calls(iteration.running_sub_calls, key=f"{key}-fallback")
    elif iteration.running_sub_calls and not pending:
        st.markdown(":blue[:material/progress_activity: Code running…]")
        _draw_sub_calls(batch_order(iteration.running_sub_calls), key=f"{key}-running")
    for note in iteration.notices:
        st.caption(f":material/info: {safe_markdown(notice_line(note))}")


def _draw_block(block: CodeBlock, *, key: str) -> None:
    st.markdown(f"**Code** · block {block.index + 1} · {format_seconds(block.elapsed_s)}")
    st.code(block.code, language="python")
    if block.restarted:
        st.warning("The REPL worker was restarted: variables made before were lost.")
    label = "**REPL output**"
    if block.output_chars > len(block.output):
        label += f" · cut to {len(block.output):,} of {block.output_chars:,} characters"
    st.markdown(label)
    st.code(block.output or "(no output)", language="text", wrap_lines=True)
    draw_passages(block.passages, what="output")
    if block.error:
        st.error(safe_markdown(block.error))
    if block.sub_calls:
        _draw_sub_calls(block.sub_calls, key=key)


def _draw_sub_calls(calls: list[SubCall], *, key: str) -> None:
    """The first sub-calls as a table (more on demand, button keyed `{key}-more`), and a picker
    to read one in full."""
    st.markdown(f"**Sub-calls** ({len(calls):,})")
    wanted = f"{key}-shown"
    shown = calls[: st.session_state.get(wanted, SUB_CALL_PAGE)]
    st.dataframe(
        [_sub_call_row(n, call) for n, call in enumerate(shown, start=1)],
        hide_index=True,
        width="stretch",
        column_config=_SUB_CALL_COLUMNS,
    )
    if len(shown) < len(calls):

        def more() -> None:
            st.session_state[wanted] = len(shown) + SUB_CALL_PAGE

        st.button(
            f"Show {min(SUB_CALL_PAGE, len(calls) - len(shown))} more "
            f"({len(shown):,} of {len(calls):,} shown)",
            key=f"{key}-more",
            icon=":material/expand_more:",
            on_click=more,
        )
    pick = st.selectbox(
        "Show a sub-call in full",
        range(len(shown)),
        format_func=lambda i: f"#{i + 1} {shown[i].kind} · {_preview(shown[i].prompt, 60)}",
        index=None,
        key=f"{key}-pick",
        placeholder="Choose a sub-call to read its whole prompt and response",
    )
    if pick is not None:
        _draw_sub_call(shown[pick])


def _sub_call_row(number: int, call: SubCall) -> dict[str, Any]:
    return {
        "#": number,
        "tokens": f"{call.input_tokens + call.output_tokens:,}" if call.done else "…",
        "cost": format_cost(call.cost_usd) if call.done else "",
        "time": format_seconds(call.elapsed_s) if call.done else "running",
        "speed": ("cached" if call.cached else format_speed(call.tokens_per_s))
        if call.done
        else "",
        "kind": call.kind,
        "model": call.model,
        "prompt": _preview(call.prompt),
        "response": call.error or _preview(call.response or "") if call.done else "…",
    }


def _draw_sub_call(call: SubCall) -> None:
    with st.container(border=True):
        parts = [
            call.kind,
            safe_markdown(call.model),
            f"{call.input_tokens:,} in / {call.output_tokens:,} out tokens",
            cache_note(call.cached_tokens, 0),
            format_cost(call.cost_usd),
            format_seconds(call.elapsed_s),
            format_speed(call.tokens_per_s),
            "answered from the sub-call cache" if call.cached else "",
        ]
        st.caption(" · ".join(p for p in parts if p))
        st.markdown("**Prompt**")
        st.code(call.prompt, language="text", wrap_lines=True)
        draw_passages(call.passages, what="prompt")
        st.markdown("**Response**")
        if call.error:
            st.error(safe_markdown(call.error))
        else:
            st.code(call.response or "…", language="text", wrap_lines=True)
        if call.child is not None:
            _draw_child(call.child)


def _draw_child(trace: Trace) -> None:
    """A child RLM's iterations, flat (expanders cannot nest)."""
    st.markdown(f"**Child RLM** · {plural(len(trace.iterations), 'iteration')}")
    for iteration in trace.iterations:
        st.markdown(f"*{safe_markdown(_iteration_title(iteration))}*")
        if iteration.reasoning:
            st.markdown(safe_markdown(iteration.reasoning))
        for block in iteration.blocks:
            st.code(block.code, language="python")
            st.code(block.output or "(no output)", language="text", wrap_lines=True)
    if trace.answer:
        st.markdown(f"Child answer: {safe_markdown(trace.answer)}")


def _preview(text: str, limit: int = _PREVIEW) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
