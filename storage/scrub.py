"""Keep secrets out of the database: drop values under secret-looking keys, and credentials
written into URLs. Counters such as `input_tokens` or `max_tokens` are not secrets."""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(
    r"(^|[_\-.])(api[_\-]?key|apikey|key|token|access[_\-]?token|secret|password|passwd|"
    r"authorization|auth|credentials?|cookie)$",
    re.IGNORECASE,
)
_URL_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.\-]*://)[^/@\s]+@", re.IGNORECASE)
_URL_SECRET_PARAM = re.compile(
    r"(?P<name>[?&](?:api[_\-]?key|key|token|access_token|secret|password|sig|signature))=[^&#\s]*",
    re.IGNORECASE,
)


def is_secret_key(name: str) -> bool:
    return bool(_SECRET_KEY.search(name))


def scrub_url(value: str) -> str:
    value = _URL_USERINFO.sub(r"\g<scheme>" + REDACTED + "@", value)
    return _URL_SECRET_PARAM.sub(r"\g<name>=" + REDACTED, value)


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
        return scrub_url(value)
    return value
