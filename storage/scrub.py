"""Keep secrets out of the database: rlm_engine.redact, applied to what storage keeps.

Dict entries under secret names (`api_key`, `token`, `password`, ...) are replaced; with
`urls=True` (settings), so are credentials inside URLs. Error and notice text goes through
`rlm_engine.redact.redact` (storage.fold). Prompts, responses and code are the user's data and
are kept as written.
"""

from __future__ import annotations

from typing import Any

from rlm_engine.redact import REDACTED, is_secret_key, redact_url


def scrub(value: Any, *, urls: bool = False) -> Any:
    """A copy of `value` with every secret-looking entry replaced by "[redacted]"; with `urls`,
    also credentials inside URL strings (for settings, not for model text)."""
    if isinstance(value, dict):
        return {
            key: REDACTED
            if isinstance(key, str) and is_secret_key(key) and item is not None
            else scrub(item, urls=urls)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(item, urls=urls) for item in value]
    if urls and isinstance(value, str) and "://" in value:
        return redact_url(value)
    return value
