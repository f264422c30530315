"""RLM Workbench's engine: Recursive Language Models over corpora larger than any context window.

The public surface is what this module exports. Importing it is cheap: SDKs and the sandbox are
loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rlm_engine.config import Budgets, Credentials, ModelSpec, RunConfig
from rlm_engine.errors import (
    BudgetExceeded,
    Cancelled,
    ConfigError,
    CorpusError,
    ProviderAuthError,
    ProviderError,
    ProviderUnavailable,
    RLMError,
    SandboxError,
)
from rlm_engine.events import Event, Usage, event_from_dict

if TYPE_CHECKING:
    from rlm_engine.api import RLM, Result
    from rlm_engine.outcome import RunResult
    from rlm_engine.session import Session, run

__all__ = [
    "RLM",
    "BudgetExceeded",
    "Budgets",
    "Cancelled",
    "ConfigError",
    "CorpusError",
    "Credentials",
    "Event",
    "ModelSpec",
    "ProviderAuthError",
    "ProviderError",
    "ProviderUnavailable",
    "RLMError",
    "Result",
    "RunConfig",
    "RunResult",
    "SandboxError",
    "Session",
    "Usage",
    "event_from_dict",
    "run",
]

_LAZY = {
    "RLM": "rlm_engine.api",
    "Result": "rlm_engine.api",
    "Session": "rlm_engine.session",
    "run": "rlm_engine.session",
    "RunResult": "rlm_engine.outcome",
}


def __getattr__(name: str) -> Any:
    """RLM, Session, run and RunResult import the sandbox and loop modules only when first used."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rlm_engine' has no attribute {name!r}")
