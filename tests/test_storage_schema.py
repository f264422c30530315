"""Migrations: they build exactly the models' schema, run once, and are applied on open."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from rlm_engine.trace import fold
from rlm_testkit.postgres import create_database
from rlm_testkit.runs import record, run_events
from storage import Database
from storage.connect import MIGRATIONS, _revisions, head_revision
from storage.tables import Base


def _revision(url: str) -> str:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        revision = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    return revision


def test_migrations_build_the_models_schema(db_url: str) -> None:
    _migrate(db_url, "head")
    engine = sa.create_engine(db_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_open_migrates_a_new_database_to_head(db_url: str) -> None:
    Database.open(db_url).close()
    assert _revision(db_url) == head_revision() == "m007_document_text_chunks"


def test_the_revisions_read_without_alembic_are_alembics() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(config)
    assert head_revision() == scripts.get_current_head()
    assert _revisions() == {s.revision: s.down_revision for s in scripts.walk_revisions()}


def test_new_and_current_databases_open_without_importing_alembic(db_url: str) -> None:
    """Alembic (~9 MiB of modules, ~17 with a migration's run) is imported only to upgrade an
    older schema, and SQLite never imports the PostgreSQL dialect (~2 MiB): `rlm ask` opens (or
    creates) its database and saves its corpus at its first model reply, beside the sandbox."""
    code = (
        "import sys\nfrom storage import Database\n"
        f"Database.open({db_url!r}).close()\n"
        f"Database.open({db_url!r}).save_corpus('c', [{{'name': 'a', 'text': 'x'}}])\n"
        "print('alembic' in sys.modules, 'sqlalchemy.dialects.postgresql' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    postgres = db_url.startswith("postgresql")
    assert (proc.returncode, proc.stdout.split()) == (0, ["False", str(postgres)]), proc.stderr
    assert _revision(db_url) == head_revision()


def _schema(url: str) -> dict[str, object]:
    """Everything reflection sees of each table, the version table included."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        inspector = sa.inspect(connection)
        schema: dict[str, object] = {
            table: (
                [(c["name"], str(c["type"]), c["nullable"], c.get("default"))
                 for c in inspector.get_columns(table)],
                inspector.get_pk_constraint(table),
                sorted(map(repr, inspector.get_foreign_keys(table))),
                sorted(map(repr, inspector.get_indexes(table))),
                sorted(map(repr, inspector.get_unique_constraints(table))),
            )
            for table in sorted(inspector.get_table_names())
        }  # fmt: skip
        schema["version"] = connection.execute(
            sa.text("SELECT version_num FROM alembic_version")
        ).all()
    engine.dispose()
    return schema


def test_a_new_database_is_made_as_the_migrations_make_it(
    db_url: str, tmp_path, request: pytest.FixtureRequest
) -> None:
    """Database.open makes a new database from the models at once; every migration run from
    m001 makes the same one (tables, columns, keys, indexes, the version)."""
    if db_url.startswith("sqlite"):
        migrated = f"sqlite:///{tmp_path / 'migrated.db'}"
    else:
        migrated = create_database(request.getfixturevalue("pg_server"))
    Database.open(db_url).close()
    _migrate(migrated, "head")
    assert _schema(db_url) == _schema(migrated)


def test_reopening_keeps_the_data(db_url: str) -> None:
    with Database.open(db_url) as db:
        db.save_corpus("kept", [{"name": "a.txt", "text": "alpha"}])
    with Database.open(db_url) as db:
        assert [c.name for c in db.list_corpora()] == ["kept"]


def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    """Alembic's own upgrade (or downgrade) to `revision`."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)
    engine.dispose()


def _downgrade(url: str, revision: str) -> None:
    _migrate(url, revision, down=True)


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
    engine.dispose()
    return tables


def test_dropping_code_blocks_keeps_every_run_whole(db_url: str) -> None:
    """m006 drops `code_blocks` (nothing read it) under recorded runs; their blocks are read from
    their events. Its downgrade brings the table back."""
    with Database.open(db_url) as db:
        run_id = record(db.recorder(), run_events(iterations=2, sub_calls=1))
    _downgrade(db_url, "m005_run_marks")
    assert "code_blocks" in _tables(db_url)
    engine = sa.create_engine(db_url)
    with engine.begin() as connection:  # a row an older version wrote
        connection.execute(
            sa.text(
                "INSERT INTO code_blocks (run_id, depth, iteration, block_index, code, output, "
                "output_chars, elapsed_s, restarted, time) "
                "VALUES (:run, 0, 1, 0, 'x = 1', '', 0, 0.1, false, 0.0)"
            ),
            {"run": run_id},
        )
    engine.dispose()
    with Database.open(db_url) as db:  # migrates to head
        blocks = [len(i.blocks) for i in fold(db.run_events(run_id)).iterations]
        assert (db.get_run(run_id).iterations, blocks) == (2, [1, 1])
    assert "code_blocks" not in _tables(db_url)


def test_texts_move_into_pieces_and_back(db_url: str) -> None:
    """m007 moves each stored text into pieces of 1 Mi characters (unicode cut between
    characters); its downgrade joins them back into `documents.text`; both read back identical."""
    text = ("aé€𝄞" * 600_000)[: 2 * 2**20 + 5]  # three pieces
    with Database.open(db_url) as db:
        kept = db.save_corpus(
            "kept", [{"name": "big.txt", "text": text}, {"name": "e", "text": ""}]
        )
    _downgrade(db_url, "m006_drop_code_blocks")
    engine = sa.create_engine(db_url)
    with engine.begin() as connection:
        stored = connection.execute(sa.text("SELECT text FROM documents ORDER BY id")).scalars()
        assert list(stored) == [text, ""]
        connection.execute(  # a document an older version wrote
            sa.text(
                "INSERT INTO documents (sha256, name, kind, chars, n_pages, page_offsets, text, "
                "created_at) VALUES ('ab', 'old.txt', 'text', :chars, 0, '[]', :text, 0.0)"
            ),
            {"chars": len(text) - 1, "text": text[1:]},
        )
    engine.dispose()
    assert "document_text_chunks" not in _tables(db_url)
    with Database.open(db_url) as db:  # migrates to head
        assert db.corpus_context(kept.id) == [text, ""]
        old = db.save_corpus("old", [{"name": "old.txt", "text": text[1:], "sha256": "ab"}])
        assert db.corpus_context(old.id) == [text[1:]]
    engine = sa.create_engine(db_url)
    with engine.connect() as connection:
        pieces = connection.execute(
            sa.text(
                "SELECT document_id, seq, length(text) FROM document_text_chunks "
                "ORDER BY document_id, seq"
            )
        ).all()
        emptied = connection.execute(sa.text("SELECT text FROM documents")).scalars().all()
    engine.dispose()
    sizes = [(seq, n) for _, seq, n in pieces]  # length(): characters, on both engines
    assert sizes == [(0, 2**20), (1, 2**20), (2, 5), (0, 2**20), (1, 2**20), (2, 4)]
    assert emptied == ["", "", ""]


def test_sqlite_database_is_in_wal_mode(tmp_path) -> None:
    path = tmp_path / "rlm.db"
    Database.open(f"sqlite:///{path}").close()
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()
