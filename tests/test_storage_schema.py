"""Migrations: they build exactly the models' schema, run once, and are applied on open."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage import Database
from storage.connect import head_revision
from storage.tables import Base


def _revision(url: str) -> str:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        revision = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    return revision


def test_migrations_build_the_models_schema(db_url: str) -> None:
    Database.open(db_url).close()
    engine = sa.create_engine(db_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_open_migrates_a_new_database_to_head(db_url: str) -> None:
    Database.open(db_url).close()
    assert _revision(db_url) == head_revision() == "m005_run_marks"


def test_reopening_keeps_the_data(db_url: str) -> None:
    with Database.open(db_url) as db:
        db.save_corpus("kept", [{"name": "a.txt", "text": "alpha"}])
    with Database.open(db_url) as db:
        assert [c.name for c in db.list_corpora()] == ["kept"]


def test_sqlite_database_is_in_wal_mode(tmp_path) -> None:
    path = tmp_path / "rlm.db"
    Database.open(f"sqlite:///{path}").close()
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()
