"""The module layout: modules that one imports from the other stay one-way (no import circle,
not even one dodged with an import inside a function or under TYPE_CHECKING)."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest


def imported_modules(module: str) -> set[str]:
    """Every module `module` imports, wherever the import statement stands."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    found: set[str] = set()
    for node in ast.walk(ast.parse(Path(spec.origin).read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize(
    ("module", "never"),
    [
        ("rlm_engine.corpus_pdf", "rlm_engine.corpus"),
        ("rlm_engine.corpus_read", "rlm_engine.corpus"),
        ("rlm_engine.corpus_text", "rlm_engine.corpus"),
        ("rlm_engine.pdf_child", "rlm_engine.corpus"),
        ("rlm_engine.repl_calls", "rlm_engine.loop"),
        ("rlm_engine.sources.tracker", "rlm_engine.loop"),
    ],
)
def test_a_module_does_not_import_its_caller(module: str, never: str) -> None:
    assert never not in imported_modules(module)
