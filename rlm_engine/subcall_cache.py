"""The sub-call cache (opt in: `RunConfig.sub_call_cache`): an `llm_query` asked again with the
same model, prompt and parameters over the same corpus is answered from a store, at no cost.

The engine only knows this small protocol; storage implements it (a table in the database), the
app and the CLI hand it to the session. Keys are digests: the store never needs to read them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Protocol

from rlm_engine.config import ModelSpec

KEY_VERSION = 1  # part of every key: a change in what a key covers starts a fresh cache


class SubCallCache(Protocol):
    """Where answers of sub-calls are kept. Must be safe to call from several threads."""

    def get(self, key: str) -> str | None:
        """The answer stored under `key`, or None."""
        ...

    def put(self, key: str, model: str, response: str) -> None:
        """Keep `response` under `key` (`model` is a label, for people reading the store)."""
        ...


def corpus_fingerprint(context: str | list[str]) -> str:
    """A digest of the corpus: the same documents, in the same order, give the same one."""
    digest = hashlib.sha256()
    documents = [context] if isinstance(context, str) else context
    for document in documents:
        data = str(document).encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def sub_call_key(corpus: str, spec: ModelSpec, prompt: str, params: dict[str, Any]) -> str:
    """The key of one sub-call: corpus, provider, model, endpoint, prompt and parameters."""
    identity = {
        "v": KEY_VERSION,
        "corpus": corpus,
        "provider": spec.provider,
        "model": spec.model,
        "base_url": spec.base_url,
        "prompt": prompt,
        "params": params,
    }
    data = json.dumps(identity, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8", "surrogatepass")).hexdigest()
