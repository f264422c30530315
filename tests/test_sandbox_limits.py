"""Hostile code: time, crashes, memory, floods, fork bombs, file size. The host must stay well."""

from __future__ import annotations

import threading

import pytest

from rlm_engine.sandbox import Sandbox
from rlm_engine.sandbox.host import STOPPED_DURING
from rlm_engine.sandbox.launch import FORCE_VAR
from tests.fixtures.sandbox import Recorder

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def box():
    """Short wall time so the hostile cases end quickly."""
    with Sandbox(exec_timeout_s=2, output_limit_chars=2_000, memory_limit_mb=512) as sandbox:
        sandbox.load_context(["doc a", "doc b"])
        yield sandbox


def run(box: Sandbox, code: str, handler: Recorder | None = None):
    return box.execute(code, handler or Recorder())


def test_infinite_loop_is_interrupted_and_variables_are_kept(box: Sandbox) -> None:
    run(box, "kept = 'yes'")
    result = run(box, "while True:\n    pass")
    assert result.error is not None and result.error.startswith("TimeoutError")
    assert not result.restarted
    assert run(box, "kept").output == "'yes'\n"


def test_loop_ignoring_interrupts_is_killed_and_context_reloaded(box: Sandbox) -> None:
    run(box, "lost = 1")
    code = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"
    result = run(box, code)
    assert result.restarted
    assert "variable was lost" in result.output
    assert run(box, "context").output == "['doc a', 'doc b']\n"
    assert run(box, "'lost' in globals()").output == "False\n"


def test_slow_handler_is_cut_by_the_exec_timeout(box: Sandbox) -> None:
    release = threading.Event()
    try:
        result = run(box, "llm_query('slow')", Recorder(hold=release))
        assert result.error is not None and result.error.startswith("TimeoutError")
        assert not result.restarted
    finally:
        release.set()  # the late answer must be dropped without harm
    assert run(box, "llm_query('fast')").output == "'answer to fast'\n"


def test_stop_interrupts_the_block_and_keeps_variables(box: Sandbox) -> None:
    stop = threading.Event()
    run(box, "kept = 'yes'")
    code = "llm_query('go')\nwhile True:\n    pass"
    result = box.execute(code, Recorder(on_call=stop.set), timeout_s=60, stop=stop)
    assert result.error == STOPPED_DURING
    assert "timed out" not in result.output and "TimeoutError" not in result.output
    assert not result.restarted
    assert run(box, "kept").output == "'yes'\n"


def test_stop_kills_a_block_that_ignores_interrupts(box: Sandbox) -> None:
    stop = threading.Event()
    run(box, "lost = 1")
    code = (
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "llm_query('go')\nwhile True:\n    pass"
    )
    result = box.execute(code, Recorder(on_call=stop.set), timeout_s=60, stop=stop)
    assert result.error == STOPPED_DURING
    assert result.restarted and "variable was lost" in result.output
    assert run(box, "'lost' in globals(), len(context)").output == "(False, 2)\n"


def test_stop_cuts_a_slow_handler(box: Sandbox) -> None:
    stop, release = threading.Event(), threading.Event()
    try:
        handler = Recorder(hold=release, on_call=stop.set)
        result = box.execute("llm_query('slow')", handler, timeout_s=60, stop=stop)
    finally:
        release.set()
    assert result.error == STOPPED_DURING and not result.restarted


def test_stop_set_before_the_block_runs_nothing(box: Sandbox) -> None:
    stop = threading.Event()
    stop.set()
    result = box.execute("ran = True", Recorder(), stop=stop)
    assert result.error is not None and result.error.startswith("Stopped")
    assert run(box, "'ran' in globals()").output == "False\n"


@pytest.mark.parametrize(
    "code",
    [
        "import os\nos._exit(1)",
        "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
        "import ctypes\nctypes.string_at(0)",
    ],
    ids=["exit", "sigkill", "segfault"],
)
def test_a_dying_worker_is_restarted(box: Sandbox, code: str) -> None:
    result = run(box, code)
    assert result.restarted
    assert result.error is not None and "worker died" in result.error
    assert run(box, "len(context)").output == "2\n"


def test_worker_killed_between_blocks_is_restarted_on_next_block(box: Sandbox) -> None:
    code = (
        "import os, threading, time\n"
        "threading.Thread(target=lambda: (time.sleep(0.3), os._exit(3))).start()"
    )
    assert not run(box, code).restarted
    result = box.execute("import time\ntime.sleep(5)", Recorder(), timeout_s=30)
    assert result.restarted
    assert run(box, "1 + 1").output == "2\n"


@pytest.mark.parametrize(
    "code",
    ["x = bytearray(10**11)", "hog = []\nwhile True:\n    hog.append(bytearray(10**7))"],
    ids=["one-huge", "growing"],
)
def test_memory_bomb_fails_without_harm(box: Sandbox, code: str) -> None:
    result = box.execute(code, Recorder(), timeout_s=60)
    assert result.restarted or (result.error or "").startswith("MemoryError")
    assert run(box, "1 + 1").output == "2\n"


def test_stdout_flood_is_bounded(box: Sandbox) -> None:
    result = run(box, "while True:\n    print('x' * 10**6)")
    assert result.output_chars > 10**6
    assert len(result.output) < 2_000 + 500  # the limit, the marker and the timeout note
    assert "characters truncated" in result.output
    peak_kb = run(box, "int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])")
    assert int(peak_kb.output) < 200_000  # the worker kept head and tail, not the flood


@pytest.mark.timeout(60)
def test_fork_bomb_is_harmless(box: Sandbox) -> None:
    if box.isolation is None or box.isolation.uid is None:
        pytest.skip("RLIMIT_NPROC needs a private uid (run as root to get one)")
    result = run(box, "import os\nwhile True:\n    os.fork()")
    assert result.error is not None
    assert run(box, "1 + 1").output == "2\n"


def test_file_size_is_limited(box: Sandbox) -> None:
    result = run(box, "open('big', 'wb').write(b'x' * (65 * 1024 * 1024))")
    assert result.error is not None and "File too large" in result.error


def test_exit_in_code_does_not_stop_the_worker(box: Sandbox) -> None:
    result = run(box, "import sys\nsys.exit(3)")
    assert result.error == "SystemExit: 3"
    assert not result.restarted


# --- what a block leaves behind: processes, threads, handler calls ----------------------------

ALIVE = (
    "def alive(pid):\n"
    "    try:\n"
    "        state = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[0]\n"
    "    except FileNotFoundError:\n"
    "        return False\n"
    "    return state != 'Z'\n"
)
SPINNER = "import os\nspinner = os.fork()\nif spinner == 0:\n    while True:\n        pass\n"
ESCAPER = (  # double fork, new session: the grandchild is nobody's child any more
    "import os\n"
    "r, w = os.pipe()\n"
    "middle = os.fork()\n"
    "if middle == 0:\n"
    "    os.setsid()\n"
    "    if os.fork() == 0:\n"
    "        os.write(w, str(os.getpid()).encode())\n"
    "        while True:\n"
    "            pass\n"
    "    os._exit(0)\n"
    "os.waitpid(middle, 0)\n"
    "escaper = int(os.read(r, 20))\n"
)


@pytest.fixture(params=["default", "none"])
def any_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """The strongest mode here, and the weakest one forced (`uid` needs an interpreter the
    dropped uid can run: see tests/test_sandbox_modes.py for the unprivileged path)."""
    if request.param != "default":
        monkeypatch.setenv(FORCE_VAR, request.param)
    with Sandbox(exec_timeout_s=10) as sandbox:
        sandbox.start()
        yield sandbox


@pytest.mark.parametrize("code", [SPINNER, ESCAPER], ids=["fork", "double-fork-setsid"])
def test_processes_left_by_a_block_are_killed(any_mode: Sandbox, code: str) -> None:
    name = "spinner" if code is SPINNER else "escaper"
    first = run(any_mode, ALIVE + code + f"alive({name})")
    assert first.output == "True\n", first.output  # it did run during its block
    assert run(any_mode, f"alive({name})").output == "False\n"


def test_the_namespace_holds_only_the_jail_and_the_worker_after_a_block(box: Sandbox) -> None:
    if box.isolation is None or not box.isolation.pid_namespace:
        pytest.skip("no PID namespace here")
    run(box, SPINNER + ESCAPER + "import subprocess\nsubprocess.Popen(['sleep', '600'])")
    listing = "import os\nsorted(int(p) for p in os.listdir('/proc') if p.isdigit())"
    assert run(box, listing + " == [1, os.getpid()]").output == "True\n"


class SlowBatch(Recorder):
    """Like the loop's handler: a batch runs in a pool of its own, each prompt a sub-call that
    waits until `release` is set (a slow provider)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.idle = threading.Condition()
        self.active = 0

    def llm_query_batched(self, prompts: list[str]) -> list[str]:
        from concurrent.futures import ThreadPoolExecutor

        def one(prompt: str) -> str:
            with self.idle:
                self.calls.append(("llm_query", prompt))
                self.active += 1
            self.release.wait(60)
            with self.idle:
                self.active -= 1
                self.idle.notify_all()
            return f"answer to {prompt}"

        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(one, prompts))


def test_a_timed_out_batch_starts_no_more_sub_calls(box: Sandbox) -> None:
    handler = SlowBatch()
    try:
        result = box.execute("llm_query_batched([str(i) for i in range(40)])", handler, timeout_s=1)
        assert result.error is not None and result.error.startswith("TimeoutError")
        started = len(handler.calls)
    finally:
        handler.release.set()
    with handler.idle:
        assert handler.idle.wait_for(lambda: handler.active == 0, timeout=60)
    assert run(box, "1 + 1").output == "2\n"
    assert 0 < started <= 8  # the prompts already in flight, at most one per slot
    assert len(handler.calls) == started


WAIT_IDLE = (  # a thread of model code waits until no block runs (the worker's main thread
    # has left do_exec), so that what it does next happens between blocks, for certain
    "import sys, threading, time\n"
    "def wait_idle():\n"
    "    main = threading.main_thread().ident\n"
    "    while True:\n"
    "        f, names = sys._current_frames().get(main), []\n"
    "        while f is not None:\n"
    "            names.append(f.f_code.co_name)\n"
    "            f = f.f_back\n"
    "        if 'do_exec' not in names:\n"
    "            return\n"
    "        time.sleep(0.01)\n"
)


def _wait_for_a_message(box: Sandbox) -> None:
    """Until the worker's late call reached the host (it waits unanswered between blocks)."""
    worker = box._worker
    assert worker is not None
    for _ in range(6000):
        if worker.conn.inbox.qsize():
            return
        threading.Event().wait(0.01)
    raise AssertionError("the late call never reached the host")


def test_a_call_made_after_its_block_ended_reaches_no_handler(box: Sandbox) -> None:
    first, second = Recorder(), Recorder()
    code = WAIT_IDLE + (
        "late = []\n"
        "def call():\n"
        "    wait_idle()\n"
        "    try:\n"
        "        late.append(llm_query('late'))\n"
        "    except RuntimeError as exc:\n"
        "        late.append(f'refused: {exc}')\n"
        "t = threading.Thread(target=call)\n"
        "t.start()"
    )
    run(box, code, first)
    _wait_for_a_message(box)
    result = run(box, "t.join()\nlate", second)
    assert first.calls == [] and second.calls == []
    assert result.output.startswith("['refused:"), result.output


FILL_DISK = (
    "import errno, os\n"
    "written, failure = 0, None\n"
    "try:\n"
    "    for i in range(64):\n"  # 64 files of 1 MB: past a 16 MB cap, under the 64 MB file limit
    "        with open(f'fill-{i}', 'wb') as f:\n"
    "            f.write(b'x' * 1024 * 1024)\n"
    "        written += 1\n"
    "except OSError as exc:\n"
    "    failure = errno.errorcode[exc.errno]\n"
    "written, failure"
)


def test_workdir_disk_use_is_capped_in_the_namespace_modes() -> None:
    with Sandbox(disk_limit_mb=16) as box:
        box.start()
        assert box.isolation is not None
        if not box.isolation.walled_fs:
            pytest.skip(f"no mount namespace here: disk use is not capped ({box.isolation.mode})")
        written, failure = eval(run(box, FILL_DISK).output)
        assert failure == "ENOSPC" and 10 <= written <= 16
        assert run(box, "1 + 1").output == "2\n"  # the sandbox goes on
        freed = "for n in os.listdir():\n    os.remove(n)\nopen('again', 'wb').write(b'y' * 10**6)"
        assert run(box, freed).output == "1000000\n"
