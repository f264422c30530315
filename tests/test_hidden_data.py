"""Model code must not read the run database: every user's questions, answers and documents.

The attack: the data directory (RLM_DATA_DIR) or the SQLite file (--db) lies outside the
directories the jail always hides (home, /tmp, ...), e.g. /var/lib/rlm or /srv/rlm, and model code
opens runs.db and runs.db-wal while a run is being recorded.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rlm_engine.sandbox import Sandbox
from rlm_engine.sandbox.launch import FORCE_VAR
from rlm_testkit.standin import StandIn
from tests.fixtures.sandbox import Recorder
from tests.test_cli_ask import ROOT, repl, rlm
from tests.test_sandbox_modes import _as_user, user_python  # noqa: F401 (a fixture, looked up by name)

SECRET = "SECRET-QUESTION-4711"
REPO = Path(__file__).resolve().parent.parent

READ_FILES = """
import os
seen = {{}}
for path in {paths!r}:
    try:
        with open(path, 'rb') as f:
            data = f.read()
        seen[path] = 'read ' + str(len(data)) + (' SECRET' if {secret!r}.encode() in data else '')
    except OSError as exc:
        seen[path] = type(exc).__name__
seen
"""


@pytest.fixture(params=["/var/lib", "/srv"])
def outside(request: pytest.FixtureRequest) -> Iterator[Path]:
    """A directory outside the hidden ones, open to others (0755) as an admin would make it."""
    if not os.access(request.param, os.W_OK):
        pytest.skip(f"cannot create a directory under {request.param}")
    path = Path(tempfile.mkdtemp(prefix="rlm-test-", dir=request.param))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _ask_reading(paths: list[str], standin: StandIn, *args: str, env: dict[str, str]) -> dict:
    """One run that records a secret question, then a run whose model code reads `paths`."""
    corpus = Path(env["RLM_DATA_DIR"]).parent / "corpus.txt"
    corpus.write_text("nothing to see")
    standin.enqueue("FINAL(first)", model=ROOT)
    first = rlm("ask", SECRET, "--context", str(corpus), "--model", ROOT, *args, env=env)
    assert first.returncode == 0, first.stderr
    probe = "Is the write-ahead log there now?"
    code = (
        f"llm_query({probe!r})\n"  # while the code runs: the run is being recorded
        + READ_FILES.format(paths=paths, secret=SECRET)
        + "FINAL(repr(seen))"
    )
    wal_there: list[bool] = []

    def read_them(request: Any) -> str:
        if probe in request.messages[-1]["content"]:
            wal_there.append(os.path.exists(paths[1]))  # the recorder's WAL, while it records
            return "checked"
        return repl(code)

    standin.on(read_them, model=ROOT)
    proc = rlm("ask", "Q?", "--context", str(corpus), "--model", ROOT, "--json", *args, env=env)
    assert proc.returncode == 0, proc.stderr
    assert wal_there == [True]
    return eval(json.loads(proc.stdout)["answer"])  # a repr of a dict of str: our own output


def test_data_dir_outside_home_is_hidden_from_model_code(
    standin_env: StandIn, outside: Path
) -> None:
    data = outside / "rlm"  # created by rlm itself
    db = data / "rlm.db"
    paths = [str(db), f"{db}-wal", str(data / "models")]
    seen = _ask_reading(paths, standin_env, env={"RLM_DATA_DIR": str(data)})
    assert not any(v.startswith("read") for v in seen.values()), seen
    assert seen[str(db)] == "FileNotFoundError", seen  # hidden (a mount namespace), not just closed


def test_db_outside_the_data_dir_is_hidden_from_model_code(
    standin_env: StandIn, outside: Path, tmp_path: Path
) -> None:
    db = outside / "runs.db"
    env = {"RLM_DATA_DIR": str(tmp_path / "rlm-data")}
    seen = _ask_reading([str(db), f"{db}-wal"], standin_env, "--db", f"sqlite:///{db}", env=env)
    assert not any(v.startswith("read") for v in seen.values()), seen
    assert seen[str(db)] == "FileNotFoundError", seen


def test_data_dir_is_0700_and_database_files_0600(outside: Path) -> None:
    data = outside / "rlm"
    env = {**os.environ, "RLM_DATA_DIR": str(data)}
    script = (
        "from storage import Database; from rlm_engine.paths import default_db_url, models_dir\n"
        "models_dir()\n"
        "db = Database.open(default_db_url()); db.save_corpus('c', [])\n"
        "import os, json; print(json.dumps(sorted(os.listdir(os.environ['RLM_DATA_DIR']))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "rlm.db-wal" in json.loads(done.stdout)  # listed while the database was open
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "models").stat().st_mode) == 0o700
    for name in ("rlm.db", "rlm.db-wal", "rlm.db-shm"):
        if (data / name).exists():
            assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name


def test_an_old_database_is_tightened_when_opened(outside: Path) -> None:
    from storage import Database

    db = outside / "old.db"
    db.touch(mode=0o644)
    db.chmod(0o644)
    Database.open(f"sqlite:///{db}").close()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_sandbox_hides_the_paths_it_is_given(outside: Path) -> None:
    (outside / "notes").write_text(SECRET)
    (outside / "notes").chmod(0o644)
    with Sandbox(exec_timeout_s=30, hidden_paths=(str(outside),)) as box:
        box.start()
        assert box.isolation is not None
        if not box.isolation.walled_fs:
            pytest.skip("no mount namespace here: covered by permissions (see the uid test)")
        out = box.execute(READ_FILES.format(paths=[str(outside / "notes")], secret=SECRET),
                          Recorder())  # fmt: skip
    assert "FileNotFoundError" in out.output, out.output


USER_PROBE = """
import sys
sys.path.insert(0, '.')
from rlm_engine.sandbox import Sandbox
from tests.fixtures.sandbox import Recorder
with Sandbox(exec_timeout_s=30, hidden_paths=(sys.argv[1],)) as box:
    print(box.execute(sys.argv[2], Recorder()).output)
    print(box.isolation.mode)
"""


def test_user_namespace_hides_the_paths_it_is_given(
    request: pytest.FixtureRequest, outside: Path
) -> None:
    """Not root: the worker keeps the user's uid, so only the mount namespace stands between
    model code and a database the user can read."""
    python = request.getfixturevalue("user_python")
    (outside / "notes").write_text(SECRET)
    (outside / "notes").chmod(0o644)
    code = READ_FILES.format(paths=[str(outside / "notes")], secret=SECRET)
    done = _as_user(python, "-c", USER_PROBE, str(outside), code)
    assert done.returncode == 0, done.stderr[-2000:]
    if not done.stdout.strip().endswith("user-namespace"):
        pytest.skip(f"no user namespace for the test user here: {done.stdout[-200:]}")
    assert "FileNotFoundError" in done.stdout and "read" not in done.stdout, done.stdout


UID_PROBE = """
import sys
sys.path.insert(0, '.')
from rlm_engine.sandbox import Sandbox
from tests.fixtures.sandbox import Recorder
with Sandbox(exec_timeout_s=30) as box:
    print(box.execute(sys.argv[1], Recorder()).output)
    print(box.isolation.mode)
"""


def test_uid_mode_cannot_read_the_database(outside: Path) -> None:
    """Root without namespaces: nothing is hidden, but the dropped uid cannot read the files."""
    python = "/usr/bin/python3"
    if os.geteuid() != 0 or not os.access(python, os.X_OK):
        pytest.skip("needs root and /usr/bin/python3 (an interpreter any uid can run)")
    data = outside / "rlm"
    env = {**os.environ, "RLM_DATA_DIR": str(data)}
    script = (
        "from storage import Database; from rlm_engine.paths import default_db_url\n"
        f"db = Database.open(default_db_url()); db.save_corpus({SECRET!r}, [])\n"
        f"import subprocess, sys; print(subprocess.run([{python!r}, '-c', sys.argv[1], "
        "sys.argv[2]], capture_output=True, text=True, env={'PATH': '/usr/bin:/bin', "
        f"{FORCE_VAR!r}: 'uid'}}).stdout)\n"
    )
    db = data / "rlm.db"
    code = READ_FILES.format(paths=[str(db), f"{db}-wal", str(outside / "rlm")], secret=SECRET)
    done = subprocess.run(
        [sys.executable, "-c", script, UID_PROBE, code],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("uid"), done.stdout
    assert "read" not in done.stdout and "PermissionError" in done.stdout, done.stdout


CMDLINES = """
import os
texts = []
for pid in ('1', 'self', str(os.getppid())):
    try:
        with open(f'/proc/{pid}/cmdline', 'rb') as f:
            texts.append(f.read().decode(errors='replace'))
    except OSError:
        pass
' | '.join(texts)
"""


def test_proc_cmdline_shows_no_jail_configuration(outside: Path) -> None:
    """PID 1 of the sandbox (the jail, then its reaper): its argv must not tell model code the
    host workdir, the uid, or which host directories are hidden (where the database lives)."""
    with Sandbox(exec_timeout_s=30, hidden_paths=(str(outside),)) as box:
        out = box.execute(CMDLINES, Recorder()).output
        workdir = str(box.workdir)
    assert "jail.py" in out or "worker.py" in out, out  # the probe did read a command line
    for leak in (workdir, str(outside), '"uid"', "rlimits", "hide"):
        assert leak not in out, (leak, out)


def test_a_sandbox_hides_the_data_dir_even_when_not_told(
    outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A composition root that names nothing (a library user, a new front end) still gets the
    data directory and a sqlite:/// RLM_DB_URL's directory hidden: the engine knows those."""
    data, other = outside / "data", outside / "other"
    for folder in (data, other):
        folder.mkdir(mode=0o755)
        (folder / "runs.db").write_text(SECRET)
        (folder / "runs.db").chmod(0o644)
    monkeypatch.setenv("RLM_DATA_DIR", str(data))
    monkeypatch.setenv("RLM_DB_URL", f"sqlite:///{other}/runs.db")
    paths = [str(data / "runs.db"), str(other / "runs.db")]
    with Sandbox(exec_timeout_s=30) as box:
        out = box.execute(READ_FILES.format(paths=paths, secret=SECRET), Recorder()).output
        assert box.isolation is not None
        if not box.isolation.walled_fs:
            pytest.skip("no mount namespace here: covered by permissions (see the uid test)")
    assert out.count("FileNotFoundError") == 2, out


def test_the_app_hides_its_database_from_model_code(
    standin_env: StandIn, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The web app (every visitor's runs in one database): model code of a visitor's run reads
    neither the database nor its WAL, while the app records into them."""
    from tests.test_app_ask import ask, finish, open_ask, upload

    data = outside / "rlm"
    monkeypatch.setenv("RLM_DATA_DIR", str(data))
    db = data / "rlm.db"
    code = READ_FILES.format(paths=[str(db), f"{db}-wal"], secret="launch code")
    standin_env.enqueue(repl(code + "FINAL(repr(seen))"), model="root-model")
    at = finish(ask(upload(open_ask(), ("notes.txt", b"launch code", "text/plain")), "Q?"))
    [handle] = at.session_state["rlm_workspace"].conversation
    seen = eval(handle.result.answer)  # a repr of a dict of str: our own output
    assert db.exists() and not any(v.startswith("read") for v in seen.values()), seen
    assert seen[str(db)] == "FileNotFoundError", seen
