"""Model code forging frames on the worker's channel: the block ends with an error the model sees,
the worker is restarted, the host's reader lives on and so does the run (real sandbox, real loop
over HTTP to the stand-in)."""

from __future__ import annotations

import threading
import time

import pytest

from rlm_engine import Credentials, ModelSpec, RunConfig, run
from rlm_engine.events import CodeExecuted
from rlm_engine.sandbox import Sandbox
from rlm_testkit.standin import StandIn
from tests.fixtures.sandbox import Recorder

# Model code finds the channel the way any code in the worker's process can: its socket fd.
FORGE = """
import os, stat, struct, time
def is_socket(n):
    try:
        return stat.S_ISSOCK(os.fstat(n).st_mode)
    except OSError:
        return False
fd = next(n for n in range(3, 1024) if is_socket(n))
body = BODY
os.write(fd, struct.pack('>I', SIZE) + body[:1 << 20])
time.sleep(20)
"""
FORGERIES = {
    "text as output_chars": b'{"op": "result", "output": "", "output_chars": "many"}',
    "infinity": b'{"op": "result", "output": "", "output_chars": Infinity}',
    "huge number": b'{"op": "result", "output": "", "output_chars": 1e999}',
    "200,000 levels deep": b"[" * 200_000 + b"]" * 200_000,
    "not JSON": b"\xff\xfe garbage",
    "a call with a text id": b'{"op": "call", "id": "x", "method": "llm_query", "args": ["q"]}',
}


def forge(body: bytes, size: int | None = None) -> str:
    return FORGE.replace("BODY", repr(body)).replace(
        "SIZE", str(len(body) if size is None else size)
    )


def reader_threads() -> int:
    return sum(t.name == "rlm-sandbox-rx" and t.is_alive() for t in threading.enumerate())


@pytest.mark.parametrize("name", list(FORGERIES))
def test_a_forged_frame_ends_the_block_and_the_next_one_runs(name: str) -> None:
    with Sandbox(exec_timeout_s=60) as box:
        box.execute("kept = 1", Recorder())
        result = box.execute(forge(FORGERIES[name]), Recorder())
        assert result.error is not None and "malformed message" in result.error, result
        assert result.restarted and "malformed message" in result.output  # the model sees it
        after = box.execute("print(llm_query('still here'))", Recorder())
        assert (after.output, after.error) == ("answer to still here\n", None)
        assert reader_threads() >= 1


def test_a_huge_length_header_is_refused_before_it_is_read() -> None:
    with Sandbox(exec_timeout_s=60) as box:
        result = box.execute(forge(b"{}", size=0xFFFF_FFF0), Recorder())
        assert "malformed message" in (result.error or "")
        assert "4,294,967,280 bytes" in result.error
        assert box.execute("print(2)", Recorder()).output == "2\n"


def test_the_run_goes_on_after_a_forged_frame(standin: StandIn) -> None:
    standin.enqueue(
        "```repl\n" + forge(FORGERIES["infinity"]) + "\n```",
        "```repl\nprint('second block')\n```",
        "FINAL(done)",
    )
    events: list[object] = []
    config = RunConfig(root=ModelSpec("openai", "root", standin.openai_base_url))
    result = run("Q?", "ctx", config, credentials=Credentials(openai_api_key="k"),
                 on_event=events.append)  # fmt: skip
    assert (result.status, result.answer) == ("completed", "done")
    blocks = [e for e in events if isinstance(e, CodeExecuted)]
    assert "malformed message" in (blocks[0].error or "")
    assert blocks[1].output == "second block\n"
    assert "malformed message" in standin.requests[1].messages[-1]["content"]


def test_a_frame_forged_between_blocks_restarts_the_worker_and_the_request_answers() -> None:
    """A thread of model code forges a frame after its block ended, while the host asks for a
    variable: the worker is restarted and the request answered (the variable is gone)."""
    with Sandbox(exec_timeout_s=60) as box:
        box.load_context("the context")
        code = forge(FORGERIES["infinity"]).replace("time.sleep(20)", "")
        delayed = "import threading\nkept = 1\n" + (
            "def later():\n    threading.Event().wait(1)\n" + "".join(f"    {line}\n" for line in
            code.strip().splitlines()) + "threading.Thread(target=later).start()"
        )  # fmt: skip
        assert box.execute(delayed, Recorder()).error is None
        time.sleep(2)  # the forged frame is waiting for the host now
        assert box.get_var("kept") is None  # restarted: variables lost, no exception
        assert box.get_var("context") == "the context"
