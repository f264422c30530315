"""Caps on what model code makes the host hold, send or store: a batch over the cap, a prompt over
the cap (by the REPL's helpers or by a frame forged on the channel), an answer over the cap, the
stored size of an event and the run list (real sandbox, stand-in over HTTP, real SQLite)."""

from __future__ import annotations

import threading

from rlm_engine import Credentials, ModelSpec, RunConfig, run
from rlm_engine.caps import repl_caps
from rlm_engine.events import CodeExecuted, Event, SubCallStarted
from rlm_testkit.standin import StandIn
from storage import Database

ROOT, SUB = "root-model", "sub-model"
# Model code speaking the protocol itself, past the REPL's helpers (see test_sandbox_frames.py).
FORGE_CALL = """
import gc, json, os, stat, struct, time
block = next(o for o in gc.get_objects() if type(o).__name__ == 'State').current
def is_socket(n):
    try:
        return stat.S_ISSOCK(os.fstat(n).st_mode)
    except OSError:
        return False
fd = next(n for n in range(3, 1024) if is_socket(n))
body = json.dumps({"op": "call", "id": 10**6, "exec": block, "method": METHOD, "args": [ARG]})
os.write(fd, struct.pack('>I', len(body)) + body.encode())
time.sleep(3)
print('forged')
"""


def repl(code: str) -> str:
    return f"```repl\n{code}\n```"


def ask(standin: StandIn, *replies: str, on_event=None, **overrides: object):
    standin.enqueue(*replies, model=ROOT)
    standin.on(lambda req: "sub answer", model=SUB)
    config = RunConfig(
        root=ModelSpec("openai", ROOT, standin.openai_base_url),
        sub=ModelSpec("openai", SUB, standin.openai_base_url),
        **overrides,  # type: ignore[arg-type]
    )
    events: list[Event] = []
    lock = threading.Lock()

    def collect(event: Event) -> None:
        with lock:
            events.append(event)
        if on_event is not None:
            on_event(event)

    result = run("Q?", "ctx", config, credentials=Credentials(openai_api_key="k"),
                 on_event=collect)  # fmt: skip
    return result, events


def sub_requests(standin: StandIn) -> int:
    return sum(r.model == SUB for r in standin.requests)


def test_a_batch_over_the_cap_raises_in_the_repl_and_sends_nothing(standin: StandIn) -> None:
    result, events = ask(
        standin,
        repl("try:\n    llm_query_batched(['q'] * 1_000_000)\nexcept ValueError as e:\n"
             "    print('refused:', e)"),
        "FINAL(done)",
    )  # fmt: skip
    assert (result.status, result.answer) == ("completed", "done")
    output = next(e for e in events if isinstance(e, CodeExecuted)).output
    assert "refused: llm_query_batched: 1,000,000 prompts in one batch, over the cap of 1,000" in (
        output
    )
    assert sub_requests(standin) == 0 and result.sub_calls == 0


def test_a_prompt_over_the_cap_raises_in_the_repl_and_sends_nothing(standin: StandIn) -> None:
    result, events = ask(
        standin,
        repl("llm_query('x' * 5_000_000)"),
        repl("print(llm_query('small'))"),
        "FINAL(done)",
    )
    assert (result.status, result.answer) == ("completed", "done")
    blocks = [e for e in events if isinstance(e, CodeExecuted)]
    assert blocks[0].error is not None and blocks[0].error.startswith("ValueError: llm_query:")
    assert "5,000,000 characters, over the cap of 4,000,000" in blocks[0].error
    assert blocks[1].output == "sub answer\n"
    assert [r.prompt for r in standin.requests if r.model == SUB] == ["small"]


def test_the_host_enforces_the_caps_on_forged_calls(standin: StandIn) -> None:
    """Calls written straight to the channel skip the worker's checks: the host refuses them."""
    started: list[int] = []
    forged_prompt = FORGE_CALL.replace("METHOD", "'llm_query'").replace("ARG", "'y' * 5_000_000")
    forged_batch = FORGE_CALL.replace("METHOD", "'llm_query_batched'").replace(
        "ARG", "['q'] * 5_000"
    )
    result, events = ask(
        standin, repl(forged_prompt), repl(forged_batch), "FINAL(done)",
        on_event=lambda e: started.append(1) if isinstance(e, SubCallStarted) else None,
    )  # fmt: skip
    assert (result.status, result.answer) == ("completed", "done")
    assert [e.output for e in events if isinstance(e, CodeExecuted)] == ["forged\n", "forged\n"]
    assert sub_requests(standin) == 0 and started == []


def test_an_answer_over_the_cap_is_cut_with_a_marker_and_stored_cut(
    standin: StandIn, db_url: str
) -> None:
    db = Database.open(db_url)
    recorder = db.recorder()
    result, _ = ask(standin, repl("FINAL('a' * 3_000_000)"), on_event=recorder)
    assert result.status == "completed"
    marker = "\n... [answer cut at 1,000,000 of 3,000,000 characters]"
    assert result.answer == "a" * 1_000_000 + marker
    assert db.get_run(result.run_id).answer == result.answer
    listed = db.list_runs()[0]
    assert listed.run_id == result.run_id and listed.answer == "a" * 2_000  # a preview only
    db.close()


def test_what_is_stored_per_event_is_capped_with_the_full_length(
    standin: StandIn, db_url: str
) -> None:
    db = Database.open(db_url)
    result, _ = ask(
        standin, repl("print(llm_query('p' * 3_000_000))"), "FINAL(done)", on_event=db.recorder()
    )
    assert result.status == "completed"
    stored = [e for e in db.run_events(result.run_id) if isinstance(e, SubCallStarted)]
    prompt = stored[0].prompt
    assert prompt.startswith("p" * 2_000_000) and len(prompt) < 2_000_100
    assert prompt.endswith("[not stored: 1,000,000 more characters; full length 3,000,000]")
    db.close()


def test_the_prompt_cap_never_exceeds_the_sub_models_window(monkeypatch) -> None:
    monkeypatch.setenv("RLM_LOCAL_N_CTX", "8192")
    local = RunConfig(root=ModelSpec("openai", ROOT), sub=ModelSpec("local", "m.gguf"))
    assert repl_caps(local).prompt_chars == 8192 * 4
    known = RunConfig(root=ModelSpec("openai", "gpt-4o"))  # 128k tokens in the price table
    assert repl_caps(known).prompt_chars == 128_000 * 4
    assert repl_caps(RunConfig(root=ModelSpec("openai", ROOT))).prompt_chars == 4_000_000
