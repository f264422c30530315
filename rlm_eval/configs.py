"""Configurations of an evaluation: `NAME:KEY=VALUE[,KEY=VALUE...]`.

KEYs are `rlm ask`'s flags without the dashes (parsed by `rlm ask`'s own parser, so the two can
never drift apart) plus `method=rlm|direct` (default rlm; `auto` too, as in `rlm ask`). A flag
without a value (`no-sub-calls`) takes `true`. A value may hold commas when the next piece is not
`key=...` (`price=gpt-x=2.5,10`). The judge (`--judge KEY=VALUE,...`) takes `provider`, `model`
and `base-url`.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from typing import Any

from rlm_engine.config import Credentials, ModelSpec, RunConfig

METHODS = ("rlm", "direct", "auto")  # auto: an extension (rlm ask --method auto)
_NOT_KEYS = {"context", "db", "no-save", "json", "question", "help"}
_FLAGS = {"no-sub-calls", "no-stall-guards"}  # flags that take no value
_NAME = re.compile(r"^[^:,\x00-\x1f]{1,80}$")


class ConfigError(ValueError):
    """A bad --config or --judge; the message names it."""


@dataclass(frozen=True)
class EvalConfig:
    """One column of the matrix: a name and its settings as given (strings)."""

    name: str
    settings: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "settings": dict(self.settings)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvalConfig:
        return cls(str(data["name"]), {str(k): str(v) for k, v in data["settings"].items()})

    @property
    def method(self) -> str:
        return self.settings.get("method", "rlm")

    @property
    def provider_key(self) -> str:
        """Which provider's concurrency bound this configuration counts against."""
        return self.settings.get("provider", "default")


def split_pairs(text: str) -> dict[str, str]:
    """`k=v,k2=v2` as a dict; a comma starts a new pair only before `key=`."""
    pairs: dict[str, str] = {}
    if not text.strip():
        return pairs
    for piece in re.split(r",(?=\s*[A-Za-z][\w-]*\s*(?:=|,|$))", text):
        key, eq, value = piece.partition("=")
        key = key.strip().lower().replace("_", "-")
        if not key:
            raise ConfigError(f"empty key in {text!r}")
        if key in pairs:
            raise ConfigError(f"key {key!r} is given twice in {text!r}")
        pairs[key] = value.strip() if eq else "true"
    return pairs


def parse_config(text: str) -> EvalConfig:
    """`NAME:KEY=VALUE,...` checked now, so a bad one is a usage error before anything runs."""
    name, colon, rest = text.partition(":")
    name = name.strip()
    if not colon or not name:
        raise ConfigError(f"--config {text!r}: expected NAME:KEY=VALUE[,KEY=VALUE...]")
    if not _NAME.match(name):
        raise ConfigError(f"--config {text!r}: a name has 1-80 characters, no ':' or ','")
    config = EvalConfig(name, split_pairs(rest))
    check(config)
    return config


def check(config: EvalConfig) -> None:
    """Raise ConfigError if the configuration's name or settings are bad (nothing runs)."""
    if not _NAME.match(config.name):
        raise ConfigError(f"configuration name {config.name!r}: 1-80 characters, no ':' or ','")
    run_config(config, Credentials())


def parse_configs(texts: list[str]) -> list[EvalConfig]:
    configs = [parse_config(text) for text in texts]
    names = [c.name for c in configs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"configuration name(s) used twice: {', '.join(twice)}")
    return configs


class _Raising(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise ConfigError(message)


def _ask_parser() -> argparse.ArgumentParser:
    from rlm_cli import ask

    parser = _Raising(prog="rlm", add_help=False)
    ask.register(parser.add_subparsers(parser_class=_Raising))
    return parser


def run_config(config: EvalConfig, credentials: Credentials) -> RunConfig:
    """The RunConfig `rlm ask` would build from these flags (plus `method`)."""
    from rlm_cli.ask import build_config

    argv = ["ask", "?", "--context", "-", "--method", config.method]
    for key, value in config.settings.items():
        if key == "method":
            if value not in METHODS:
                raise ConfigError(f"config {config.name}: method must be rlm or direct")
            continue
        if key in _NOT_KEYS:
            raise ConfigError(f"config {config.name}: {key} cannot be set per configuration")
        if key == "price":  # several prices: price=m1=1,2;m2=3,4
            for price in value.split(";"):
                argv += ["--price", price.strip()]
        elif key in _FLAGS:
            if value.lower() not in ("true", "1", "yes"):
                raise ConfigError(f"config {config.name}: {key} takes no value (or true)")
            argv.append(f"--{key}")
        else:
            argv += [f"--{key}", value]
    try:
        args = _ask_parser().parse_args(argv)
    except ConfigError as exc:
        message = str(exc)
        if message.startswith("unrecognized arguments"):
            unknown = [a[2:] for a in message.split(":", 1)[1].split() if a.startswith("--")]
            message = f"unknown key(s) {', '.join(unknown)} (use rlm ask's flags without dashes)"
        raise ConfigError(f"config {config.name}: {message}") from None
    return build_config(args, credentials)


def judge_spec(text: str | None, credentials: Credentials) -> ModelSpec | None:
    """`--judge provider=...,model=...,base-url=...` as the judge's ModelSpec."""
    if text is None:
        return None
    from rlm_engine.defaults import default_provider, suggested_model
    from rlm_engine.providers.registry import provider_names

    pairs = split_pairs(text)
    unknown = sorted(set(pairs) - {"provider", "model", "base-url"})
    if unknown:
        raise ConfigError(f"--judge: unknown key(s) {', '.join(unknown)}; use provider, model, "
                          "base-url")  # fmt: skip
    provider = pairs.get("provider") or default_provider(credentials)
    if provider not in provider_names():
        raise ConfigError(
            f"--judge: provider must be one of {', '.join(provider_names())}, not {provider!r}"
        )
    return ModelSpec(
        provider, pairs.get("model") or suggested_model(provider), pairs.get("base-url")
    )
