"""Every default is set once, in rlm_engine/config.py: the CLI, the app and README read it there."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from rlm_cli import build_parser
from rlm_cli.ask import build_config
from rlm_engine.config import Budgets, Credentials, GuardConfig, ModelSpec, RunConfig
from rlm_engine.defaults import APP_BUDGETS, suggested_model
from tests.apptest import open_app

README = Path(__file__).resolve().parents[1] / "README.md"
DEFAULTS = {
    f.name: f.default
    for cls in (Budgets, RunConfig, GuardConfig)
    for f in dataclasses.fields(cls)
    if f.default is not dataclasses.MISSING
}


def test_rlm_ask_without_flags_runs_the_engines_defaults() -> None:
    args = build_parser().parse_args(["ask", "Q?", "--context", "a.txt"])
    local = ModelSpec("local", suggested_model("local"))
    assert build_config(args, Credentials()) == RunConfig(root=local)


def test_the_app_starts_from_the_engines_budgets() -> None:
    at = open_app("pages/ask.py")
    shown = {n.label: n.value for n in at.number_input}
    assert shown["Max iterations"] == Budgets.max_iterations == APP_BUDGETS.max_iterations
    assert shown["Max sub-calls"] == Budgets.max_sub_calls
    assert shown["Max depth"] == Budgets.max_depth
    assert shown["Max cost (USD)"] == APP_BUDGETS.max_cost_usd
    assert shown["Max time (min)"] * 60 == APP_BUDGETS.max_time_s


def readme_defaults() -> list[tuple[str, str]]:
    """(field, default cell) of each README table whose second column is "default" and whose
    first cell names a field of Budgets, RunConfig or GuardConfig."""
    rows, in_table = [], False
    for line in README.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if "|" in line else []
        if len(cells) >= 2 and cells[1] == "default":
            in_table = True
        elif not cells:
            in_table = False
        elif in_table and (named := re.match(r"`(\w+)`", cells[0])) and named[1] in DEFAULTS:
            rows.append((named[1], cells[1]))
    return rows


def stated(cell: str) -> Any:
    """The value a README cell starts with: `code`, "none", or a number such as 4,000,000."""
    if code := re.match(r"`([^`]*)`", cell):
        return code[1]
    if cell.startswith("none"):
        return None
    return float(re.match(r"[\d,.]+", cell)[0].replace(",", ""))


@pytest.mark.parametrize("field, cell", readme_defaults(), ids=lambda value: value[:24])
def test_readme_states_the_engines_defaults(field: str, cell: str) -> None:
    default = DEFAULTS[field]
    expected = str(default) if isinstance(stated(cell), str) else default
    assert stated(cell) == expected, f"README says {cell!r} for {field}, the engine {default!r}"


def test_readme_states_the_main_defaults() -> None:
    assert {
        "max_iterations", "max_sub_calls", "exec_timeout_s", "request_timeout_s",
        "output_limit_chars", "method", "max_retries",
    } <= {field for field, _ in readme_defaults()}  # fmt: skip
