"""What model code must not reach: keys, the network, the host's processes, other sandboxes."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from rlm_engine.sandbox import Sandbox
from tests.fixtures.sandbox import Recorder

pytestmark = pytest.mark.timeout(120)

PLANTED = "sk-planted-0123456789abcdef"
PROC_WALK = """
import os
needles = [{needles}]
seen, hits = 0, []
for pid in [p for p in os.listdir('/proc') if p.isdigit()] + ['self']:
    for name in ('environ', 'cmdline'):
        try:
            data = open(f'/proc/{{pid}}/{{name}}', 'rb').read()
        except OSError:
            continue
        seen += 1
        hits += [(pid, name) for n in needles if n in data]
print(seen, hits)
"""


@pytest.fixture
def box(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """A sandbox started while the host holds a planted key, as does a process beside it (the
    way a launcher such as `uv` holds the environment it was started with)."""
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED)
    monkeypatch.setenv("RLM_TEST_SECRET_TOKEN", PLANTED)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OPENAI_API_KEY": PLANTED}
    launcher = subprocess.Popen(["sleep", "300"], env=env)
    try:
        with Sandbox(exec_timeout_s=30) as sandbox:
            sandbox.start()
            yield sandbox
    finally:
        launcher.kill()
        launcher.wait()


def run(box: Sandbox, code: str):
    return box.execute(code, Recorder())


def require(box: Sandbox, what: str) -> None:
    iso = box.isolation
    assert iso is not None
    if what == "network" and not iso.network:
        pytest.skip(f"the OS refused a network namespace here ({iso.describe()})")
    if what == "proc" and not (iso.pid_namespace or iso.uid is not None):
        pytest.skip(f"no PID namespace nor private uid here ({iso.describe()})")


def test_isolation_is_the_strongest_the_os_allows(box: Sandbox) -> None:
    if not (sys.platform.startswith("linux") and os.geteuid() == 0 and shutil.which("unshare")):
        pytest.skip("full isolation needs Linux, root and util-linux unshare")
    assert box.isolation is not None
    assert (box.isolation.mode, box.isolation.network, box.isolation.pid_namespace) == (
        "namespaces",
        True,
        True,
    )


def test_environment_is_scrubbed(box: Sandbox) -> None:
    result = run(box, "import os\nsorted(os.environ)")
    names = eval(result.output)
    assert not [n for n in names if any(w in n for w in ("KEY", "TOKEN", "SECRET", "RLM_"))]
    assert PLANTED not in result.output


def test_planted_key_is_nowhere_in_proc(box: Sandbox) -> None:
    require(box, "proc")
    needles = ", ".join(repr(n) for n in (PLANTED.encode(), b"API_KEY=", b"SECRET_TOKEN="))
    seen, hits = run(box, PROC_WALK.format(needles=needles)).output.split(" ", 1)
    assert int(seen) > 0  # the walk did read something: its own files at least
    assert hits.strip() == "[]"


def test_host_processes_are_invisible(box: Sandbox) -> None:
    require(box, "proc")
    code = (
        "import os\n"
        "cmds = []\n"
        "for p in [p for p in os.listdir('/proc') if p.isdigit()]:\n"
        "    try:\n"
        "        cmds.append(open(f'/proc/{p}/cmdline', 'rb').read())\n"
        "    except OSError:\n"
        "        pass\n"
        "any(b'pytest' in c for c in cmds)"
    )
    assert run(box, code).output == "False\n"


def test_network_is_blocked(box: Sandbox) -> None:
    require(box, "network")
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=5)"
        result = run(box, code)
        server.setblocking(False)
        with pytest.raises(BlockingIOError):
            server.accept()
    assert result.error is not None and "Error" in result.error


def test_worker_runs_unprivileged(box: Sandbox) -> None:
    if os.geteuid() != 0:
        pytest.skip("the host is not root: the worker has the host's own rights")
    assert box.isolation is not None and box.isolation.uid is not None
    assert (
        run(box, "import os\nos.getuid(), os.getgid()").output
        == repr((box.isolation.uid,) * 2) + "\n"
    )


def test_workdir_is_private_and_the_cwd(box: Sandbox) -> None:
    assert box.workdir is not None and box.isolation is not None
    assert box.workdir.stat().st_mode & 0o777 == 0o700
    run(box, "open('notes.txt', 'w').write('kept here')")
    assert run(box, "open('notes.txt').read()").output == "'kept here'\n"
    assert run(box, "import os\nos.getcwd() == os.environ['HOME']").output == "True\n"
    assert run(box, "oct(os.stat('.').st_mode & 0o777)").output == "'0o700'\n"
    # walled: the workdir is a tmpfs of the sandbox's own; the host's directory stays empty
    on_host = (box.workdir / "notes.txt").exists()
    assert on_host is not box.isolation.walled_fs


def test_workdir_is_removed_on_close() -> None:
    box = Sandbox()
    box.start()
    workdir = box.workdir
    assert workdir is not None
    run(box, "import os\nos.makedirs('a/b')\nopen('a/b/c', 'w').write('x')\nos.chmod('a', 0)")
    box.close()
    assert not workdir.exists()


def test_sandboxes_cannot_read_each_other(box: Sandbox) -> None:
    if box.isolation is None or not (box.isolation.uid is not None or box.isolation.walled_fs):
        pytest.skip("sandboxes share the host's uid and filesystem here")
    with Sandbox() as other:
        other.start()
        result = run(box, f"import os\nos.listdir({str(other.workdir)!r})")
    assert result.error is not None
    assert result.error.split(":")[0] in ("PermissionError", "FileNotFoundError")


def test_processes_die_with_the_sandbox(box: Sandbox) -> None:
    if box.isolation is None or box.isolation.uid is None:
        pytest.skip("needs a private uid to find the sandbox's processes")
    run(box, "import subprocess\np = subprocess.Popen(['sleep', '600'])")
    uid = box.isolation.uid
    box.close()
    owners = []
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            owners.append(os.stat(f"/proc/{pid}").st_uid)
        except FileNotFoundError:
            continue
    assert uid not in owners


ORPHANS = """
import os, time
for _ in range(20):  # orphans: each child exits at once, its parent before it is waited for
    if os.fork() == 0:
        if os.fork() == 0:
            os._exit(0)
        os._exit(0)
def zombies():
    found = []
    for p in [p for p in os.listdir('/proc') if p.isdigit()]:
        try:
            if open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()[0] == 'Z':
                found.append(p)
        except OSError:
            pass
    return found
for _ in range(100):  # the worker's own children are its to wait for
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        pass
    if not zombies():
        break
    time.sleep(0.05)
print(repr((open('/proc/1/cmdline', 'rb').read().split(b'\\0')[-3:-1], zombies())))
"""


def test_pid_1_is_a_small_reaper_that_reaps_orphans(box: Sandbox) -> None:
    """Past the walls, the jail becomes a fresh interpreter that only reaps (the jail with its
    modules held ~2 MiB more for the sandbox's life); orphans still leave no zombie behind (a fork
    bomb's would pin RLIMIT_NPROC)."""
    if box.isolation is None or not box.isolation.pid_namespace:
        pytest.skip("no PID namespace here: the worker is its own orphans' subreaper")
    cmdline_tail, zombies = eval(run(box, ORPHANS).output)
    assert b"reap(int(sys.argv[1]))" in cmdline_tail[0] and cmdline_tail[1].isdigit()
    assert zombies == []
