"""Errors raised by the engine.

One base class so that callers can catch everything the engine means to say to a user:

    RLMError
    ├── ConfigError          bad settings: unknown provider, missing key, missing model file
    ├── ProviderError        a model call failed after retries
    │   ├── ProviderAuthError      the key is missing or refused (never retried)
    │   └── ProviderUnavailable    timeouts, connection errors, 429/5xx past the retry budget
    ├── SandboxError         the REPL worker could not start or died in a way it cannot recover from
    ├── BudgetExceeded       a budget (iterations, sub-calls, tokens, cost, time) refused a call
    ├── CorpusError          a file could not be turned into text
    └── Cancelled            the run was stopped from outside

Messages are shown to users as they are: say what happened and what to do next.
"""

from __future__ import annotations


class RLMError(Exception):
    """Base class of every error the engine raises on purpose."""


class ConfigError(RLMError):
    """The settings cannot work: fix them and try again."""


class ProviderError(RLMError):
    """A model call failed."""


class ProviderAuthError(ProviderError):
    """The provider refused the key, or no key was given."""


class ProviderUnavailable(ProviderError):
    """The provider kept failing (timeouts, 429, 5xx) past the retry budget."""


class SandboxError(RLMError):
    """The REPL worker failed in a way the run cannot recover from."""


class BudgetExceeded(RLMError):
    """A budget refused a call. `budget` names which one (e.g. "max_sub_calls")."""

    def __init__(self, budget: str, message: str) -> None:
        super().__init__(message)
        self.budget = budget


class CorpusError(RLMError):
    """A file could not be read as text."""


class Cancelled(RLMError):
    """The run was cancelled from outside."""
