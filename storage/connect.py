"""Opening a database safely: connect, check what is there, migrate, translate errors.

SQLite gets WAL (readers never block the writer), a bounded busy wait, foreign keys, and explicit
transactions (`BEGIN IMMEDIATE` for writes, so that two writers queue instead of failing).
Before anything is written the file is checked read-only: a corrupt file, a foreign database or a
schema newer than ours is refused untouched.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from storage.errors import (
    DatabaseCorrupt,
    DatabaseLocked,
    DatabaseReadOnly,
    DatabaseUnavailable,
    ForeignDatabase,
    SchemaTooNew,
    StorageError,
)

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
WRITE = {"rlm_write": True}  # execution option: this transaction writes (SQLite: BEGIN IMMEDIATE)


def display_url(url: str | sa.URL) -> str:
    """The URL as it may be shown: never with its password."""
    return make_url(url).render_as_string(hide_password=True)


def sqlite_path(url: sa.URL) -> Path | None:
    """The file behind a SQLite URL, or None for memory/other engines."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    if url.database.startswith("file:"):
        return None
    return Path(url.database)


def sqlite_dir(url: str) -> str | None:
    """The directory of the SQLite file behind `url` (what a sandbox must hide), else None."""
    try:
        path = sqlite_path(make_url(url))
    except sa.exc.ArgumentError:
        return None
    return None if path is None else os.path.realpath(path.expanduser().parent)


def restrict_sqlite_files(path: Path) -> None:
    """The database and its -wal/-shm files are the owner's only (0600): they hold every user's
    questions and documents. SQLite gives -wal and -shm the database file's mode, so the file is
    created 0600 before SQLite first opens it; files of an older version are tightened."""
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for file in (path, _wal(path), path.with_name(path.name + "-shm")):
        with suppress(OSError):  # absent, or not ours: we keep what we cannot change
            if file.stat().st_uid == os.geteuid() and file.stat().st_mode & 0o077:
                file.chmod(0o600)


def create_engine(url: str | sa.URL, *, lock_timeout_s: float) -> Engine:
    """An engine whose waits are bounded: `lock_timeout_s` for a lock, unless a transaction's
    execution option `rlm_busy_ms` asks for less (the recorder's quick tries)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return _postgres_engine(parsed, lock_timeout_s)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(parsed, pool_pre_ping=True)
    in_memory = parsed.database in (None, "", ":memory:")  # one shared connection, or each is empty
    engine = sa.create_engine(
        parsed,
        connect_args={"check_same_thread": False, "timeout": lock_timeout_s},
        **({"poolclass": sa.pool.StaticPool} if in_memory else {}),
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(lock_timeout_s * 1000)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")  # WAL: safe against a killed process
        cursor.close()

    default_ms = int(lock_timeout_s * 1000)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        busy_ms = int(options.get("rlm_busy_ms", default_ms))
        info = connection.connection.info  # lives as long as the DBAPI connection
        if info.get("rlm_busy_ms", default_ms) != busy_ms:
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {busy_ms}")
            info["rlm_busy_ms"] = busy_ms
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get("rlm_write") else "BEGIN")

    return engine


def _postgres_engine(parsed: sa.URL, lock_timeout_s: float) -> Engine:
    """PostgreSQL waits on a lock as long as SQLite's busy wait (it would wait for ever), and
    gives up connecting after a while (libpq would wait on TCP for minutes)."""
    connect_args: dict[str, object] = {}
    if "options" not in parsed.query:
        connect_args["options"] = f"-c lock_timeout={int(lock_timeout_s * 1000)}"
    if "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = max(10, int(lock_timeout_s))
    engine = sa.create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        busy_ms = connection.get_execution_options().get("rlm_busy_ms")
        if busy_ms is not None:
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = {int(busy_ms)}")

    return engine


def known_revisions() -> set[str]:
    return set(_revisions())


def head_revision() -> str:
    """The newest revision: the one no other revises."""
    revisions = _revisions()
    (head,) = set(revisions) - set(revisions.values())
    return head


_REVISION = re.compile(r'^revision = "([^"]+)"$', re.M)
_DOWN = re.compile(r'^down_revision = (?:None|"([^"]+)")$', re.M)


@cache
def _revisions() -> dict[str, str | None]:
    """Each revision of storage/migrations/versions and the one it revises, read from the
    scripts' own lines: a database already at head is opened without importing Alembic (~9 MiB
    of modules, and their time). tests/test_storage_schema.py checks these against Alembic's."""
    found: dict[str, str | None] = {}
    for script in sorted((MIGRATIONS / "versions").glob("m*.py")):
        source = script.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN.search(source)
        if revision is None or down is None:
            raise StorageError(f"Migration {script.name} names no revision.")
        found[revision.group(1)] = down.group(1)
    return found


def _alembic_config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def can_write(path: Path) -> bool:
    """Whether SQLite may write here: the file (if any) and its directory, which must take the
    journal or the WAL's -wal and -shm files."""
    return os.access(path.parent, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))


def read_only_uri(path: Path) -> str:
    """A `file:` URI that opens the database without writing anything.

    WAL mode needs a -shm file beside the database; in a directory we cannot write, SQLite can
    only do without it when told the file is immutable. That is safe only while nobody writes
    the database, and a writer in WAL mode keeps a -wal file: no -wal, no writer. With a -wal
    present the -shm exists too (the writer made it), and a plain read-only open shares it.
    """
    uri = f"{path.as_uri()}?mode=ro"
    if not os.access(path.parent, os.W_OK) and _is_wal(path) and not _wal(path).exists():
        uri += "&immutable=1"
    return uri


def read_only_url(path: Path) -> sa.URL:
    """`read_only_uri` as a SQLAlchemy URL."""
    base, _, query = read_only_uri(path).partition("?")
    return sa.URL.create("sqlite", database=base, query={**dict(parse_qsl(query)), "uri": "true"})


def _wal(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def _is_wal(path: Path) -> bool:
    """The header says WAL (file format versions 2 at bytes 18 and 19)."""
    try:
        with path.open("rb") as file:
            header = file.read(20)
    except OSError:
        return False
    return header[:16] == b"SQLite format 3\x00" and header[18:20] == b"\x02\x02"


def check_sqlite_file(path: Path, shown: str) -> None:
    """Refuse a file we must not touch, reading it only (a read-only SQLite URI)."""
    if path.is_dir():
        raise DatabaseUnavailable(
            f"Cannot open database {shown}: {path} is a directory, not a database file. Point "
            f"RLM_DB_URL/--db at a file, e.g. sqlite:///{path / 'runs.db'}."
        )
    if not path.parent.is_dir():
        raise DatabaseUnavailable(
            f"Cannot open database {shown}: the directory {path.parent} does not exist. "
            "Create it, or point RLM_DB_URL/--db elsewhere."
        )
    if not path.exists() or path.stat().st_size == 0:
        if not os.access(path.parent, os.W_OK):
            raise DatabaseReadOnly(
                f"Cannot create database {shown}: the directory {path.parent} is not writable. "
                "Make it writable, or point RLM_DB_URL/--db elsewhere."
            )
        return
    try:
        connection = sqlite3.connect(read_only_uri(path), uri=True, timeout=0.5)
        try:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        if "unable to open" in str(exc) and not can_write(path):
            raise DatabaseReadOnly(
                f"Cannot read database {shown}: its directory is not writable and SQLite "
                f"cannot share the -wal/-shm files beside it ({exc}). Make {path.parent} "
                "writable, or copy the database somewhere writable."
            ) from exc
        raise translate(exc, shown) from exc


def check_schema(engine: Engine, shown: str) -> None:
    """For a database we cannot write: it must be at our schema already (no migration)."""
    with guarded(shown), engine.connect() as connection:
        revision = inspect_revision(connection, shown)
    if revision != head_revision():
        raise DatabaseReadOnly(
            f"Database {shown} is read-only and its schema ({revision or 'none'}) needs "
            f"upgrading to {head_revision()}, which writes. Make it writable once, or use "
            "another database."
        )


def inspect_revision(connection: Connection, shown: str) -> str | None:
    """The schema revision in the database; refuse newer or foreign ones."""
    tables = set(sa.inspect(connection).get_table_names())
    if "alembic_version" not in tables:
        if tables - {"sqlite_sequence"}:
            raise ForeignDatabase(
                f"Database {shown} already holds tables that RLM Workbench did not create "
                f"({', '.join(sorted(tables)[:5])}). Point RLM_DB_URL/--db at a new file or "
                "an empty database."
            )
        return None
    revision = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    if revision is not None and revision not in known_revisions():
        raise SchemaTooNew(
            f"Database {shown} was written by a newer RLM Workbench (schema {revision}); this "
            f"version knows up to {head_revision()}. Upgrade rlm-workbench, or use another "
            "database. Nothing was changed."
        )
    return revision


def migrate(engine: Engine, shown: str) -> None:
    """Bring the schema to head in one write transaction (two processes starting queue here).
    An empty database gets the models' tables at once, stamped head (`create_at_head`); one at
    an older revision is upgraded by Alembic's migrations."""
    with guarded(shown):
        with engine.connect() as connection:
            if inspect_revision(connection, shown) == head_revision():
                connection.rollback()
                return
        with engine.connect().execution_options(**WRITE) as connection, connection.begin():
            if connection.dialect.name == "postgresql":  # two processes starting: one migrates
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(7262341)"))
            revision = inspect_revision(connection, shown)
            if revision == head_revision():
                return
            if revision is None and not _tables(connection):
                create_at_head(connection)
                return
            from alembic import command

            command.upgrade(_alembic_config(connection), "head")


def _tables(connection: Connection) -> set[str]:
    return set(sa.inspect(connection).get_table_names()) - {"sqlite_sequence"}


def create_at_head(connection: Connection) -> None:
    """A new database: the models' tables (storage.tables), and Alembic's version table saying
    head, as Alembic would make it. The same schema as every migration run from m001 (the tests
    compare the two), without importing Alembic and running seven migrations: a first `rlm ask`
    creates its database at its first model reply, beside the sandbox and the corpus."""
    from storage.tables import Base

    Base.metadata.create_all(connection)
    version = sa.Table(
        "alembic_version",
        sa.MetaData(),
        sa.Column("version_num", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
    )
    version.create(connection)
    connection.execute(version.insert().values(version_num=head_revision()))


@contextmanager
def guarded(shown: str) -> Iterator[None]:
    """Turn driver errors into StorageError messages that say what to do."""
    try:
        yield
    except StorageError:
        raise
    except (DBAPIError, sqlite3.DatabaseError) as exc:
        raise translate(exc, shown) from exc


def translate(exc: BaseException, shown: str) -> StorageError:
    original = getattr(exc, "orig", None) or exc
    text = str(original).lower()
    if "locked" in text or "busy" in text or getattr(original, "sqlstate", None) == "55P03":
        return DatabaseLocked(
            f"Database {shown} is locked by another program and stayed locked past our wait. "
            "Close the other program (or wait for it to finish) and try again."
        )
    if "readonly" in text or "read-only" in text or "read only" in text:
        return DatabaseReadOnly(
            f"Database {shown} is read-only. Make the file and its directory writable, or "
            "copy it somewhere writable and point RLM_DB_URL/--db at the copy."
        )
    if "not a database" in text or "malformed" in text or "encrypted" in text:
        return DatabaseCorrupt(
            f"Database {shown} is not a readable SQLite database (corrupt or another kind of "
            "file). It was left untouched: move it aside or point RLM_DB_URL/--db elsewhere."
        )
    if isinstance(exc, OperationalError) or "unable to open" in text or "connect" in text:
        return DatabaseUnavailable(
            f"Cannot open database {shown}: {original}. Check the path or server, "
            "or point RLM_DB_URL/--db elsewhere."
        )
    return StorageError(f"Database {shown} failed: {original}")
