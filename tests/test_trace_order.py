"""Sub-calls of a batch listed in the batch's order; pending ones drawn without a raw None."""

from __future__ import annotations

from rlm_engine.trace import SubCall, fold
from rlm_testkit.runs import call_started, code, root
from webui.draw import _sub_call_row


def started(call_id: str, batch_index: int | None, batch_id: str | None = "b1"):
    return call_started(call_id, prompt=call_id, batch_id=batch_id, batch_index=batch_index)


def test_batch_calls_are_listed_in_batch_order_not_start_order() -> None:
    events = [
        root(1, ""),
        started("alone", None, None),
        started("item1", 1),
        started("item2", 2),
        started("item0", 0),
        code(1),
    ]
    [block] = fold(events).iterations[0].blocks
    assert [c.call_id for c in block.sub_calls] == ["alone", "item0", "item1", "item2"]


def test_a_pending_sub_call_row_shows_no_none() -> None:
    row = _sub_call_row(1, SubCall("c", "llm", "m", "prompt", 1))
    assert "None" not in [str(v) for v in row.values()]
