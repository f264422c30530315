"""A stored run's timeline in History and in a saved comparison (AppTest)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from tests.apptest import open_app, record_run


def timelines(at: Any) -> list[list[dict[str, Any]]]:
    """The bars of each timeline drawn (not Compare's own charts), as Streamlit sent them."""
    charts = [c for c in at.get("vega_lite_chart") if '"lane"' in c.proto.spec]
    return [pa.ipc.open_stream(c.proto.data.data).read_all().to_pylist() for c in charts]


def test_history_shows_the_timeline_of_the_run_it_opens(app_db: Any) -> None:
    run_id = record_run(app_db, "Timed question")
    at = open_app("pages/history.py")
    at = at.selectbox(key="history-open").set_value(run_id).run()
    (rows,) = timelines(at)
    assert [(row["lane"], row["kind"]) for row in rows] == [
        ("Root model", "root call"),
        ("Code", "code block"),
    ]
    assert rows[0]["href"].endswith("-panel-0")  # the bar links to its iteration's panel


def test_a_saved_comparison_shows_one_timeline_per_run(app_db: Any) -> None:
    comparison_id = app_db.create_comparison("Which code?", None, ["a", "b"])
    for label in ("a", "b"):
        record_run(app_db, "Q", comparison_id=comparison_id, label=label)
    at = open_app("pages/compare.py")
    at = at.selectbox(key="cmp-saved").set_value(comparison_id).run()
    assert len(timelines(at)) == 2
