"""Where RLM Workbench keeps its files: one data directory, nothing written elsewhere.

The data directory holds every user's questions, answers and documents (the SQLite file), so it
is created mode 0700: in sandbox modes without a mount namespace the worker's uid cannot enter it.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote

PRIVATE_DIR_MODE = 0o700


def _private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) with mode 0700; an existing directory is left as is."""
    if not path.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
    return path


def _data_dir_path() -> Path:
    configured = os.environ.get("RLM_DATA_DIR")
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("rlm-workbench", appauthor=False))


def data_dir() -> Path:
    """`RLM_DATA_DIR`, or the platform's user data directory. Created on first use, mode 0700."""
    return _private_dir(_data_dir_path())


def default_db_url() -> str:
    """`RLM_DB_URL`, or a SQLite file in the data directory."""
    return os.environ.get("RLM_DB_URL") or f"sqlite:///{data_dir() / 'rlm.db'}"


def models_dir() -> Path:
    return _private_dir(data_dir() / "models")


def logs_dir() -> Path:
    return _private_dir(data_dir() / "logs")


def known_private_dirs() -> tuple[str, ...]:
    """What every sandbox hides even when its caller names nothing: the data directory, the
    models directory and the directory of a `sqlite:///` RLM_DB_URL (none of them created)."""
    dirs: list[Path] = []
    try:
        data = _data_dir_path()
        dirs += [data, data / "models"]
    except ImportError:  # a stdlib-only interpreter: the default lies in home, hidden anyway
        pass
    path = plain_sqlite_path(os.environ.get("RLM_DB_URL", ""))
    if path is not None:
        dirs.append(path.expanduser().parent)
    return tuple(dict.fromkeys(os.path.realpath(d) for d in dirs))


def plain_sqlite_path(url: str) -> Path | None:
    """The file of a plain `sqlite:///PATH` URL (the default database's form), read as
    SQLAlchemy reads it but without importing it; None for any other URL."""
    if not url.startswith("sqlite:///"):
        return None
    database = unquote(url[len("sqlite:///") :].split("?")[0])
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def private_dirs(*extra: str | Path | None) -> tuple[str, ...]:
    """The directories a sandbox must hide: the data directory, the models directory, and
    `extra` (e.g. the directory of a SQLite file given by --db or RLM_DB_URL)."""
    dirs = [data_dir(), models_dir(), *(Path(e) for e in extra if e)]
    return tuple(dict.fromkeys(os.path.realpath(d) for d in dirs))
