"""A database file that is locked, read-only, corrupt, foreign or from a newer schema: a clear
message, and the file is left exactly as it was."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from rlm_testkit.runs import record, run_events
from storage import (
    Database,
    DatabaseCorrupt,
    DatabaseLocked,
    DatabaseReadOnly,
    DatabaseUnavailable,
    ForeignDatabase,
    SchemaTooNew,
)
from tests.fixtures.frozen import frozen


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    """A database holding one run, closed (WAL checkpointed into the file)."""
    path = tmp_path / "rlm.db"
    with Database.open(_url(path)) as db:
        record(db.recorder(), run_events("kept"))
    return path


@pytest.fixture
def read_only(db_file: Path) -> Iterator[Path]:
    """The file made read-only for real: mode 0444, and immutable when we are root (root ignores
    file modes)."""
    db_file.chmod(0o444)
    if os.geteuid() == 0:
        done = subprocess.run(["chattr", "+i", str(db_file)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot make a file read-only for root here: {done.stderr.strip()}")
    yield db_file
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(db_file)], check=True)
    db_file.chmod(0o644)


@pytest.fixture
def in_read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A closed database holding run "kept", in a directory nobody may write."""
    path = tmp_path / "ro" / "rlm.db"
    path.parent.mkdir()
    with Database.open(_url(path)) as db:
        record(db.recorder(), run_events("kept"))
    assert sorted(p.name for p in path.parent.iterdir()) == ["rlm.db"]  # WAL files gone
    with frozen(path.parent):
        yield path


def test_corrupt_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "rlm.db"
    path.write_bytes(os.urandom(8192))
    before = _sha(path)
    with pytest.raises(DatabaseCorrupt, match="left untouched"):
        Database.open(_url(path))
    assert (_sha(path), sorted(p.name for p in tmp_path.iterdir())) == (before, ["rlm.db"])


def test_newer_schema_is_refused_untouched(db_file: Path) -> None:
    with sqlite3.connect(db_file) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'm999_future'")
    connection.close()
    before = _sha(db_file)
    with pytest.raises(SchemaTooNew, match=r"newer RLM Workbench.*m999_future"):
        Database.open(_url(db_file))
    assert _sha(db_file) == before


def test_newer_schema_is_refused_on_any_engine(db_url: str) -> None:
    Database.open(db_url).close()
    import sqlalchemy as sa

    engine = sa.create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = 'm999_future'"))
    engine.dispose()
    with pytest.raises(SchemaTooNew):
        Database.open(db_url)


def test_foreign_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    connection.close()
    before = _sha(path)
    with pytest.raises(ForeignDatabase, match="invoices"):
        Database.open(_url(path))
    assert _sha(path) == before


def test_locked_database_is_refused_after_a_bounded_wait(tmp_path: Path) -> None:
    path = tmp_path / "rlm.db"
    Database.open(_url(path)).close()
    with sqlite3.connect(path) as holder:
        holder.execute("PRAGMA journal_mode = DELETE")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DatabaseLocked, match="locked by another program"):
            Database.open(_url(path), lock_timeout_s=0.2)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_run_recorded_while_the_database_stays_locked_is_reported_unsaved(
    db_file: Path,
) -> None:
    """The lock outlives the run and the close: the old data is intact and close() says how
    many events were not saved (the recorder held them in memory until then)."""
    db = Database.open(_url(db_file), lock_timeout_s=0.2)
    events = run_events("new")
    holder = sqlite3.connect(db_file, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        recorder = db.recorder()
        record(recorder, events)
        assert ([r.run_id for r in db.list_runs()], recorder.pending) == (["kept"], len(events))
        assert isinstance(recorder.error, DatabaseLocked)
        assert db.close() == len(events)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with Database.open(_url(db_file)) as db:
        assert [r.run_id for r in db.list_runs()] == ["kept"]


def test_read_only_file_can_still_be_read(read_only: Path) -> None:
    with Database.open(_url(read_only)) as db:
        assert [r.run_id for r in db.list_runs()] == ["kept"]


def test_writing_to_a_read_only_file_fails_clearly_and_leaves_it_untouched(
    read_only: Path,
) -> None:
    before = _sha(read_only)
    with Database.open(_url(read_only)) as db, pytest.raises(DatabaseReadOnly, match="writable"):
        record(db.recorder(), run_events("new"))
    assert _sha(read_only) == before


def test_database_in_a_read_only_directory_can_still_be_read(in_read_only_dir: Path) -> None:
    before = _sha(in_read_only_dir)
    with Database.open(_url(in_read_only_dir)) as db:
        assert (db.read_only, [r.run_id for r in db.list_runs()]) == (True, ["kept"])
        assert [e.type for e in db.run_events("kept")][:2] == ["run_started", "root_response"]
        assert db.get_run("kept").status == "completed"
    assert (_sha(in_read_only_dir), os.listdir(in_read_only_dir.parent)) == (before, ["rlm.db"])


def test_recording_in_a_read_only_directory_is_refused_clearly(in_read_only_dir: Path) -> None:
    with Database.open(_url(in_read_only_dir)) as db:
        with pytest.raises(DatabaseReadOnly, match=r"open read-only.*writable"):
            db.recorder()
        with pytest.raises(DatabaseReadOnly, match="read-only"):
            db.save_corpus("c", [])


def test_a_new_database_in_a_read_only_directory_says_so(tmp_path: Path) -> None:
    (tmp_path / "ro").mkdir()
    with frozen(tmp_path / "ro"), pytest.raises(DatabaseReadOnly, match="not writable"):
        Database.open(_url(tmp_path / "ro" / "new.db"))


def test_a_read_only_directory_with_a_live_writer_shows_its_new_runs(tmp_path: Path) -> None:
    """A writer still has the database open (its -wal and -shm exist): the reader must not
    take the file as immutable, or it would miss what the writer adds."""
    path = tmp_path / "shared" / "rlm.db"
    path.parent.mkdir()
    writer = Database.open(_url(path))
    try:
        record(writer.recorder(), run_events("before"))
        with frozen(path.parent), Database.open(_url(path)) as reader:
            assert reader.read_only
            record(writer.recorder(), run_events("after"))
            assert sorted(r.run_id for r in reader.list_runs()) == ["after", "before"]
    finally:
        writer.close()


def test_missing_directory_says_so(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnavailable, match="does not exist"):
        Database.open(_url(tmp_path / "nowhere" / "rlm.db"))


def test_unreachable_server_says_so() -> None:
    with pytest.raises(DatabaseUnavailable, match=r"postgres:\*\*\*@127.0.0.1:9"):
        Database.open("postgresql+psycopg://postgres:hunter2@127.0.0.1:9/x")
