"""Where RLM Workbench keeps its files: one data directory, nothing written elsewhere."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """`RLM_DATA_DIR`, or the platform's user data directory. Created on first use."""
    configured = os.environ.get("RLM_DATA_DIR")
    if configured:
        path = Path(configured).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir("rlm-workbench", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_db_url() -> str:
    """`RLM_DB_URL`, or a SQLite file in the data directory."""
    return os.environ.get("RLM_DB_URL") or f"sqlite:///{data_dir() / 'rlm.db'}"


def models_dir() -> Path:
    path = data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def logs_dir() -> Path:
    path = data_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path
