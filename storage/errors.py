"""Errors raised by storage, all under `rlm_engine.errors.RLMError`.

    RLMError
    └── StorageError             the database cannot be used as asked
        ├── DatabaseLocked       another process holds a lock longer than our bounded wait
        ├── DatabaseReadOnly     the file (or its directory) cannot be written
        ├── DatabaseCorrupt      the file is not a readable SQLite database
        ├── SchemaTooNew         written by a newer RLM Workbench: we refuse to touch it
        ├── ForeignDatabase      a database with tables that are not ours
        ├── DatabaseUnavailable  cannot connect or open at all (missing directory, server down)
        └── ExportFormatError    an export file we cannot read

Every message names the database (never its password) and says what to do next. None of these is
raised after anything was written: existing data is never lost or rewritten.
"""

from __future__ import annotations

from rlm_engine.errors import RLMError


class StorageError(RLMError):
    """The database cannot be used as asked."""


class DatabaseLocked(StorageError):
    """Another connection held a lock for longer than the bounded wait."""


class DatabaseReadOnly(StorageError):
    """The database file or its directory is not writable."""


class DatabaseCorrupt(StorageError):
    """The file is not a readable SQLite database."""


class SchemaTooNew(StorageError):
    """The database was migrated by a newer version than this one."""


class ForeignDatabase(StorageError):
    """The database holds tables that RLM Workbench did not create."""


class DatabaseUnavailable(StorageError):
    """The database cannot be opened or reached."""


class ExportFormatError(StorageError):
    """An exported run is not in a format this version can read."""
