"""Keep secrets out of the database.

Three rules, each for what it can know:
- dict entries under secret names (`api_key`, `openai_api_key`, `token`, `password`, ...) are
  replaced; names are matched word by word, so `sort_key`, `max_tokens` or `use_auth` stay;
- with `urls=True` (settings), credentials inside URLs: `user:pass@` and secret query parameters;
- `scrub_text` (error and notice text): URLs as above, plus key-shaped words (`sk-...`, Bearer
  tokens, `api_key=...`), since providers echo keys back in their error messages.
Prompts, responses and code are the user's data and are kept as written.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[redacted]"

# A name is split into lowercase words (snake, kebab, dotted or camelCase); it is secret when its
# words, joined, are one of _WHOLE, when its last two words are one of _PAIRS, or its last word
# is one of _LAST. `key`, `token` and `auth` alone are secret; as the last word of a longer name
# they are not (`sort_key`, `max_tokens`, `eos_token`, `basic_auth`) unless a pair says so.
_WHOLE = {"key", "token", "auth", "authorization", "cookie", "setcookie", "xapikey", "bearer"}
_PAIRS = {
    "apikey",
    "apitoken",
    "accesstoken",
    "accesskey",
    "refreshtoken",
    "authtoken",
    "sessiontoken",
    "bearertoken",
    "idtoken",
    "secretkey",
    "privatekey",
    "hftoken",
    "githubtoken",
}
_LAST = {"apikey", "secret", "password", "passwd", "passphrase", "credential", "credentials"}
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")

_URL_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.\-]*://)[^/@\s]+@", re.IGNORECASE)
_URL_PARAM = re.compile(  # the value stops before punctuation that ends a sentence
    r"(?P<sep>[?&])(?P<name>[^=&#\s]+)=(?P<value>[^&#\s]*?)(?=[.,:;)\]'\"]*(?:[&#\s]|$))"
)
_URL_EXTRA = {"sig", "signature", "code"}  # signed URLs and OAuth codes: secret as parameters
_KEYISH = re.compile(
    r"\bsk-[A-Za-z0-9_\-*]{8,}"  # OpenAI (sk-, sk-proj-) and Anthropic (sk-ant-) keys
    r"|(?P<bearer>\b(?-i:Bearer)\s+)[A-Za-z0-9._~+/\-]{16,}=*"
    r"|(?P<named>\b(?:api[_\-]?key|x-api-key|(?:access|auth)[_\-]token|password)\s*[=:]\s*)"
    r"(?!\[redacted\])['\"]?[^\s&#'\",]{4,}?(?=[.,:;)\]'\"]*(?:[\s&#]|$))",
    re.IGNORECASE,
)


def _words(name: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(name)]


def is_secret_key(name: str) -> bool:
    words = _words(name)
    if not words:
        return False
    return (
        "".join(words) in _WHOLE | _PAIRS | _LAST
        or "".join(words[-2:]) in _PAIRS | _LAST
        or words[-1] in _LAST
    )


def _param(match: re.Match[str]) -> str:
    name = match["name"]
    if is_secret_key(name) or "".join(_words(name)) in _URL_EXTRA:
        return f"{match['sep']}{name}={REDACTED}"
    return match[0]


def scrub_url(value: str) -> str:
    value = _URL_USERINFO.sub(r"\g<scheme>" + REDACTED + "@", value)
    return _URL_PARAM.sub(_param, value) if "=" in value else value


def scrub_text(value: str) -> str:
    """Free text (an error, a notice): URL credentials and key-shaped words replaced."""
    if "://" in value:
        value = scrub_url(value)
    return _KEYISH.sub(lambda m: (m["bearer"] or m["named"] or "") + REDACTED, value)


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
