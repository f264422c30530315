"""Shared fixtures. Each area keeps its fixtures in tests/fixtures/<area>.py, imported here."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlm_engine.providers.registry import PROVIDERS
from tests.fixtures.app import *  # noqa: F403
from tests.fixtures.browser import *  # noqa: F403
from tests.fixtures.llama import *  # noqa: F403
from tests.fixtures.postgres import *  # noqa: F403
from tests.fixtures.standin import *  # noqa: F403

KEY_VARS = [v for p in PROVIDERS.values() for v in (p.key_var, p.base_url_var) if v]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data directory and starts with no keys or endpoints set."""
    data_dir = tmp_path / "rlm-data"
    monkeypatch.setenv("RLM_DATA_DIR", str(data_dir))
    monkeypatch.delenv("RLM_DB_URL", raising=False)
    for name in KEY_VARS:
        monkeypatch.delenv(name, raising=False)
    return data_dir


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Keep each phase's report on the test item, so fixtures can tell a failed test at teardown
    (the browser fixture saves a screenshot of the page as it was)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
