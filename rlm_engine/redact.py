"""The one key redactor: what providers echo back (keys, URL credentials) never reaches a user,
a log, a trace or the database. Provider errors pass through it (rlm_engine.providers.retry), and
so do storage's error and notice text and its settings (storage.scrub).

What it knows:
- secret names (`api_key`, `openai_api_key`, `token`, `password`, ...), matched word by word,
  so `sort_key`, `max_tokens` or `use_auth` stay: `is_secret_key`;
- credentials inside URLs, `user:pass@` and secret query parameters: `redact_url`;
- key-shaped words in free text: `sk-...`, Bearer tokens, `api_key=...`, and any long run of
  letters and digits (32 or more, digits among them), since providers echo (partly masked) keys
  in their 401 messages: `redact`.
"""

from __future__ import annotations

import re

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
    r"\bsk-[A-Za-z0-9_\-*]{4,}"  # OpenAI (sk-, sk-proj-) and Anthropic (sk-ant-) keys
    r"|\b(?=[A-Za-z_\-]*[0-9])[A-Za-z0-9_\-]{32,}"  # other providers' keys, hex tokens
    r"|(?P<bearer>\b(?-i:Bearer)\s+)[A-Za-z0-9._~+/\-]{16,}=*"
    r"|(?P<named>\b(?:api[_\-]?key|x-api-key|(?:access|auth)[_\-]token|password)\s*[=:]\s*)"
    r"(?!\[redacted\])['\"]?[^\s&#'\",]{4,}?(?=[.,:;)\]'\"]*(?:[\s&#]|$))",
    re.IGNORECASE,
)


def _words(name: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(name)]


def is_secret_key(name: str) -> bool:
    """Whether a setting, header or parameter of this name holds a secret."""
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


def redact_url(value: str) -> str:
    """A URL (or text holding URLs) without credentials: user:pass@ and secret parameters."""
    value = _URL_USERINFO.sub(r"\g<scheme>" + REDACTED + "@", value)
    return _URL_PARAM.sub(_param, value) if "=" in value else value


def redact(text: str, *secrets: str | None) -> str:
    """Free text (an error, a notice) without URL credentials, key-shaped words and `secrets`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    if "://" in text:
        text = redact_url(text)
    return _KEYISH.sub(lambda m: (m["bearer"] or m["named"] or "") + REDACTED, text)
