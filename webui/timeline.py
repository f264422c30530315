"""A run's waterfall: every root call, code block, sub-call and child RLM as a bar on one time
axis, so that what ran at the same time shows at a glance (as Langfuse and Weave draw a trace).

Built from the typed events' timestamps alone (`rlm_engine.events`: an event's `time` is when it
happened, its `elapsed_s` how long the call or block took), so the live view, History and Compare
draw the same chart. Sub-calls are packed into as few lanes as never overlap: the number of lanes
is the run's concurrency. Hovering a bar tells its tokens, cost and time; clicking it jumps to the
iteration's panel (`panel_anchor`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import streamlit as st

from rlm_engine.events import (
    CodeExecuted,
    Event,
    RootResponse,
    RunFinished,
    RunStarted,
    SubCallFinished,
    SubCallStarted,
    Usage,
)
from rlm_engine.parsing import find_code_blocks
from webui.safe_text import safe_markdown
from webui.trace import format_cost, format_seconds

ROOT_LANE = "Root model"
CODE_LANE = "Code"
MORE_LANE = "More sub-calls"
# Beyond this many sub-calls, the later ones are summed up as spans of one lane: Vega draws a
# thousand bars with their tooltips in seconds, and no one reads them one by one.
MAX_CALL_BARS = 200
KINDS = {  # what a bar is, and its colour (Streamlit's palette)
    "root call": "#0068c9",
    "code block": "#83c9ff",
    "sub-call": "#ff8700",
    "child RLM": "#7defa1",
    "child root call": "#29b09d",
    "child code block": "#ffd16a",
}
_PREVIEW = 120
_LANE_PX = 22
_MAX_HEIGHT_PX = 880  # beyond 40 lanes the chart grows no taller: its lanes get thinner
# The least width of a bar, as a share of the run's span: a 20 ms root call in a 30 s run would
# otherwise be a fraction of a pixel that no pointer finds.
_MIN_SHARE = 1 / 120


@dataclass(frozen=True)
class Bar:
    """One thing that took time. `panel` is the position of its iteration's panel (the order in
    which `webui.trace` lists iterations), or None for none."""

    lane: str
    kind: str
    label: str
    start_s: float  # seconds since the run started
    end_s: float
    running: bool = False
    model: str = ""
    tokens: str = ""
    cost: str = ""
    prompt: str = ""  # model-controlled: kept short and through safe_markdown
    panel: int | None = None

    @property
    def seconds(self) -> float:
        return self.end_s - self.start_s


def panel_anchor(key: str, panel: int) -> str:
    """The HTML id at the top of an iteration's panel (drawn by webui.draw)."""
    return f"{key}-panel-{panel}"


def last_time(events: Sequence[Event]) -> float | None:
    """When the last event happened: the end of a run that ended without its RunFinished."""
    return max((e.time for e in events), default=None)


def timeline_bars(events: Sequence[Event], *, now: float | None = None) -> list[Bar]:
    """The bars of a run (its events in the order they came); a run still going has its running
    parts end at `now`."""
    top = [e for e in events if e.parent_call_id is None and e.depth == 0]
    begun = next((e.time for e in top if isinstance(e, RunStarted)), None)
    if begun is None:
        begun = min((e.time for e in events), default=0.0)
    ended = next((e.time for e in top if isinstance(e, RunFinished)), None)
    end = ended if ended is not None else (time.time() if now is None else now)

    def at(moment: float) -> float:
        return max(0.0, moment - begun)

    bars: list[Bar] = []
    panels: dict[int, int] = {}  # iteration number -> panel position
    next_panel = 0  # the forced final answer repeats the last number: panels are counted
    call_panel: dict[str, int | None] = {}
    started: dict[str, SubCallStarted] = {}
    finished: dict[str, SubCallFinished] = {}
    for event in events:
        parent = event.parent_call_id
        if isinstance(event, RootResponse):
            if parent is not None:
                position = call_panel.get(parent)
            else:
                position, next_panel = next_panel, next_panel + 1
                if not event.forced:
                    panels[event.iteration] = position
            bars.append(_root_bar(event, at, position))
        elif isinstance(event, CodeExecuted):
            position = call_panel.get(parent) if parent else panels.get(event.iteration)
            bars.append(_code_bar(event, at, position))
        elif isinstance(event, SubCallStarted):
            position = call_panel.get(parent) if parent else panels.get(event.iteration)
            call_panel[event.call_id] = position
            started[event.call_id] = event
        elif isinstance(event, SubCallFinished):
            finished[event.call_id] = event
    bars += [
        _call_bar(begin, finished.get(call_id), at, end, call_panel.get(call_id))
        for call_id, begin in started.items()
    ]
    if ended is None:
        bars += _running(top, at, end, panels, next_panel)
    return _packed(_capped(bars))


def _capped(bars: list[Bar]) -> list[Bar]:
    """The first `MAX_CALL_BARS` sub-calls (by start) as bars; the rest as the spans of time in
    which some of them ran, in `MORE_LANE`."""
    calls = sorted((b for b in bars if not b.lane), key=lambda b: (b.start_s, b.end_s))
    if len(calls) <= MAX_CALL_BARS:
        return bars
    spans: list[list[Bar]] = []
    for bar in calls[MAX_CALL_BARS:]:
        if spans and bar.start_s <= max(b.end_s for b in spans[-1]):
            spans[-1].append(bar)
        else:
            spans.append([bar])
    rest = len(calls) - MAX_CALL_BARS
    return [
        *(b for b in bars if b.lane),
        *calls[:MAX_CALL_BARS],
        *(_span(span, rest) for span in spans),
    ]


def _span(calls: list[Bar], rest: int) -> Bar:
    """Sub-calls that ran one after another or at once, as one bar."""
    models = {b.model for b in calls}
    return Bar(
        lane=MORE_LANE,
        kind=calls[0].kind,
        label=f"{len(calls):,} sub-calls (of {rest:,} after the first {MAX_CALL_BARS} drawn one "
        "by one)",
        start_s=min(b.start_s for b in calls),
        end_s=max(b.end_s for b in calls),
        running=any(b.running for b in calls),
        model=models.pop() if len(models) == 1 else "",
        panel=calls[0].panel,
    )


def _root_bar(event: RootResponse, at: Callable[[float], float], panel: int | None) -> Bar:
    child = event.parent_call_id is not None
    name = "Forced final answer" if event.forced else f"Iteration {event.iteration}"
    return Bar(
        lane="" if child else ROOT_LANE,  # a child's calls are packed with the sub-calls
        kind="child root call" if child else "root call",
        label=f"{'Child RLM · ' if child else ''}{name} · root call",
        start_s=at(event.time - event.elapsed_s),
        end_s=at(event.time),
        model=event.model,
        tokens=_tokens(event.usage),
        cost=format_cost(event.cost_usd),
        panel=panel,
    )


def _code_bar(event: CodeExecuted, at: Callable[[float], float], panel: int | None) -> Bar:
    child = event.parent_call_id is not None
    label = f"Iteration {event.iteration} · block {event.block_index + 1}"
    if event.error:
        label += " · raised an error"
    return Bar(
        lane="" if child else CODE_LANE,
        kind="child code block" if child else "code block",
        label=f"{'Child RLM · ' if child else ''}{label}",
        start_s=at(event.time - event.elapsed_s),
        end_s=at(event.time),
        panel=panel,
    )


def _call_bar(
    begin: SubCallStarted,
    end: SubCallFinished | None,
    at: Callable[[float], float],
    now: float,
    panel: int | None,
) -> Bar:
    rlm = begin.kind == "rlm"
    label = f"Iteration {begin.iteration} · {'rlm_query' if rlm else 'llm_query'}"
    if begin.batch_index is not None:
        label += f" · batch item {begin.batch_index + 1}"
    if begin.parent_call_id is not None:
        label = f"Child RLM · {label}"
    cost = tokens = ""
    if end is not None:
        cost = "$0 (from the sub-call cache)" if end.cached else format_cost(end.cost_usd)
        tokens = _tokens(end.usage)
        if end.error:
            label += " · failed"
    return Bar(
        lane="",  # packed later
        kind="child RLM" if rlm else "sub-call",
        label=label,
        start_s=at(begin.time),
        end_s=at(end.time if end is not None else now),
        running=end is None,
        model=begin.model,
        tokens=tokens,
        cost=cost,
        prompt=_preview(begin.prompt),
        panel=panel,
    )


def _running(
    top: list[Event],
    at: Callable[[float], float],
    now: float,
    panels: dict[int, int],
    next_panel: int,
) -> list[Bar]:
    """What the root level is doing now: a code block of the last reply, or the next root call
    (its reply streaming, or not begun)."""
    last = next((e for e in reversed(top) if isinstance(e, RootResponse)), None)
    marks = (RunStarted, RootResponse, CodeExecuted)
    since = max((e.time for e in top if isinstance(e, marks)), default=now)
    if last is not None and not last.forced:
        number = last.iteration
        ran = sum(1 for e in top if isinstance(e, CodeExecuted) and e.iteration == number)
        if ran < len(find_code_blocks(last.text)):
            return [
                Bar(CODE_LANE, "code block", f"Iteration {number} · block {ran + 1} · running",
                    at(since), at(now), running=True, panel=panels.get(number))
            ]  # fmt: skip
    number = last.iteration + 1 if last is not None else 1
    return [
        Bar(ROOT_LANE, "root call", f"Iteration {number} · root call · running", at(since),
            at(now), running=True, panel=next_panel)
    ]  # fmt: skip


def _packed(bars: list[Bar]) -> list[Bar]:
    """Sub-calls and child RLMs (with their own calls and blocks) into lanes "Sub-calls 1",
    "Sub-calls 2", ...: each in the first lane free when it starts, so the number of lanes is how
    many ran at once."""
    ends: list[float] = []
    placed: list[Bar] = []
    calls = sorted((b for b in bars if not b.lane), key=lambda b: (b.start_s, b.end_s))
    for bar in calls:
        lane = next((n for n, free in enumerate(ends) if free <= bar.start_s), len(ends))
        if lane == len(ends):
            ends.append(bar.end_s)
        ends[lane] = bar.end_s
        placed.append(Bar(**{**asdict(bar), "lane": f"Sub-calls {lane + 1}"}))
    return [b for b in bars if b.lane] + placed


def lanes(bars: list[Bar]) -> list[str]:
    """The lanes top to bottom: root, code (if any ran), the sub-call lanes in order, then the
    summed-up ones (if any)."""
    used = {b.lane for b in bars}
    calls = sorted(used - {ROOT_LANE, CODE_LANE, MORE_LANE}, key=lambda n: int(n.split()[-1]))
    more = [MORE_LANE] if MORE_LANE in used else []
    return [ROOT_LANE, *([CODE_LANE] if CODE_LANE in used else []), *calls, *more]


def _tokens(usage: Usage) -> str:
    text = f"{usage.input_tokens:,} in / {usage.output_tokens:,} out"
    if usage.cached_tokens:
        text += f" ({usage.cached_tokens:,} cached)"
    return text


def _preview(text: str) -> str:
    text = " ".join(text.split())
    text = text if len(text) <= _PREVIEW else text[: _PREVIEW - 1] + "…"
    return safe_markdown(text)


def chart_spec(bars: list[Bar], *, key: str) -> dict[str, Any]:
    """The Vega-Lite waterfall. Each bar links to its panel's anchor; its tooltip is plain text
    (the prompt preview through safe_markdown)."""
    order = lanes(bars)
    span = max(b.end_s for b in bars) - min(b.start_s for b in bars)
    least = max(0.01, span * _MIN_SHARE)
    values = [_row(bar, key, least) for bar in bars]
    step = max(2, min(_LANE_PX, _MAX_HEIGHT_PX // len(order)))  # many lanes: thinner ones
    return {
        "data": {"values": values},
        "height": {"step": step},  # (a height in pixels squashes the chart in Streamlit 1.67)
        "mark": {"type": "bar", "cursor": "pointer", "tooltip": {"expr": "datum.tip"}},
        "encoding": {
            "y": {"field": "lane", "type": "nominal", "sort": order, "title": None,
                  "scale": {"domain": order}, "axis": {"labelLimit": 140}},
            "x": {"field": "start", "type": "quantitative", "title": "seconds into the run"},
            "x2": {"field": "end"},
            "color": {"field": "kind", "type": "nominal", "title": None,
                      "scale": {"domain": list(KINDS), "range": list(KINDS.values())},
                      "legend": {"orient": "bottom"}},
            "opacity": {"condition": {"test": "datum.running", "value": 0.45}, "value": 1},
            "href": {"field": "href", "type": "nominal"},
        },
    }  # fmt: skip


def _row(bar: Bar, key: str, least: float) -> dict[str, Any]:
    tip = {"": bar.label, "Time": format_seconds(bar.seconds) + (" so far" if bar.running else "")}
    tip["Started"] = f"{format_seconds(bar.start_s)} into the run"
    for name, value in (("Model", bar.model), ("Tokens", bar.tokens), ("Cost", bar.cost),
                        ("Prompt", bar.prompt)):  # fmt: skip
        if value:
            tip[name] = value
    return {
        "lane": bar.lane,
        "kind": bar.kind,
        "start": round(bar.start_s, 3),
        "end": round(max(bar.end_s, bar.start_s + least), 3),  # an instant still shows
        "running": bar.running,
        "tip": tip,
        "href": f"#{panel_anchor(key, bar.panel)}" if bar.panel is not None else "",
    }


def draw_timeline(events: Sequence[Event], *, key: str, now: float | None = None) -> None:
    """The run's waterfall under a "Timeline" expander (keyed `{key}-timeline`); nothing before
    the first bar."""
    bars = timeline_bars(events, now=now)
    if not bars:
        return
    expander = st.expander("Timeline", icon=":material/view_timeline:", expanded=True)
    with expander, st.container(key=f"{key}-timeline"):
        summed = (
            f" Sub-calls after the first {MAX_CALL_BARS} are summed up in the last lane."
            if any(b.lane == MORE_LANE for b in bars)
            else ""
        )
        st.caption(
            "Each bar is a root call, a code block or a sub-call; bars one above the other "
            "ran at the same time. Hover for tokens, cost and time; click to go to its panel."
            + summed
        )
        st.vega_lite_chart(chart_spec(bars, key=key), width="stretch")
