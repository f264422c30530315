"""Sub-calls of a batch listed in the batch's order; pending ones drawn without a raw None."""

from __future__ import annotations

from typing import Any

from webui.draw import _sub_call_row
from webui.trace import SubCall, build_trace


def started(call_id: str, batch_index: int | None, batch_id: str | None = "b1") -> dict[str, Any]:
    return {"type": "sub_call_started", "call_id": call_id, "iteration": 1, "kind": "llm",
            "model": "m", "prompt": call_id, "batch_id": batch_id,
            "batch_index": batch_index}  # fmt: skip


def test_batch_calls_are_listed_in_batch_order_not_start_order() -> None:
    events = [
        {"type": "root_response", "iteration": 1, "text": "", "elapsed_s": 1.0},
        started("alone", None, None),
        started("item1", 1),
        started("item2", 2),
        started("item0", 0),
        {"type": "code_executed", "iteration": 1, "block_index": 0, "code": "", "output": ""},
    ]
    [block] = build_trace(events).iterations[0].blocks
    assert [c.call_id for c in block.sub_calls] == ["alone", "item0", "item1", "item2"]


def test_a_pending_sub_call_row_shows_no_none() -> None:
    row = _sub_call_row(1, SubCall("c", "llm", "m", "prompt", 1))
    assert "None" not in [str(v) for v in row.values()]
