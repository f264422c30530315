"""The REPL contract inside the worker: the names model code may call (llm_query,
llm_query_batched, rlm_query, cite, FINAL, FINAL_VAR, SHOW_VARS, and repl_helpers.py's), the caps
they check before anything is sent, and the variables SHOW_VARS lists.

Stdlib-only and loaded by path by worker.py (see its docstring), like repl_helpers.py. A helper's
calls go to the host through the worker's `State.call`.
"""

from __future__ import annotations

import itertools
import types
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the worker's own state, never imported at run time
    from rlm_engine.sandbox.worker import State

_HELPERS = {
    "llm_query",
    "llm_query_batched",
    "rlm_query",
    "FINAL",
    "FINAL_VAR",
    "SHOW_VARS",
    "cite",
}
_HELPER_OBJECTS: dict[str, object] = {}  # the REPL helpers as installed, by name


def as_text(value: object) -> str:
    return value if isinstance(value, str) else str(value)


def _prompt(state: State, method: str, value: object) -> str:
    """A prompt as text, refused in the REPL when it is over the cap (nothing is sent)."""
    text, limit = as_text(value), state.caps["prompt"]
    if len(text) > limit:
        raise ValueError(
            f"{method}: the prompt has {len(text):,} characters, over the cap of {limit:,} "
            "(max_prompt_chars, never more than the sub model's context window): split it into "
            "smaller pieces"
        )
    return text


def _batch(state: State, prompts: object) -> list[str]:
    """At most the batch cap of prompts, refused before any is converted or sent."""
    if isinstance(prompts, str):
        raise TypeError("llm_query_batched takes a list of prompts, not one string")
    limit = state.caps["batch"]
    items = list(itertools.islice(iter(prompts), limit + 1))  # type: ignore[call-overload]
    if len(items) > limit:
        count = f"{len(prompts):,}" if hasattr(prompts, "__len__") else "more than that"
        raise ValueError(
            f"llm_query_batched: {count} prompts in one batch, over the cap of {limit:,} "
            f"(max_batch_prompts): send them in batches of at most {limit:,}"
        )
    return [_prompt(state, "llm_query_batched", p) for p in items]


def cut(text: str | None, limit: int, what: str = "answer") -> str | None:
    """`text` cut to `limit` characters, with a marker saying how long it was."""
    if text is None or len(text) <= limit:
        return text
    return text[:limit] + f"\n... [{what} cut at {limit:,} of {len(text):,} characters]"


def _context_arg(value: object) -> object:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return [as_text(v) for v in value]
    return str(value)


def install_helpers(state: State, helpers: types.ModuleType) -> None:
    """The REPL contract: the names model code may call, and those of `helpers` (repl_helpers.py,
    loaded by the worker)."""
    ns = state.namespace

    def llm_query(prompt: str) -> str:
        """One sub-model call; returns its text."""
        return as_text(state.call("llm_query", _prompt(state, "llm_query", prompt)))

    def llm_query_batched(prompts: list[str]) -> list[str]:
        """Concurrent sub-calls, answers in order; a failed prompt yields an error string."""
        answers = state.call("llm_query_batched", _batch(state, prompts))
        return [as_text(a) for a in answers]  # type: ignore[union-attr]

    def rlm_query(prompt: str, context: object = None) -> str:
        """A child RLM on `context` (default: the prompt itself)."""
        text = _prompt(state, "rlm_query", prompt)
        return as_text(state.call("rlm_query", text, _context_arg(context)))

    def cite(text: object) -> str:
        """Name a passage of `context` as a source of the answer (checked: verbatim text only)."""
        if isinstance(text, dict):
            text = text.get("text") or text.get("snippet") or ""
        return as_text(state.call("cite", as_text(text)))

    def FINAL(value: object, sources: object = None) -> None:
        """Set the final answer (with `sources`: passages of `context` it rests on, each cited);
        the run ends once this block finishes."""
        state.final = as_text(value)
        if sources is not None:
            for source in [sources] if isinstance(sources, (str, dict)) else list(sources):
                cite(source)

    def FINAL_VAR(name: object) -> None:
        """Set the final answer to the value of the REPL variable `name`."""
        if not isinstance(name, str):
            state.final = as_text(name)
            return
        key = name.strip().strip("'\"")
        if key not in ns:
            raise NameError(
                f"FINAL_VAR({name!r}): there is no variable named {key!r}; "
                f"assign it first, or call FINAL(value)"
            )
        state.final = as_text(ns[key])

    def SHOW_VARS() -> dict[str, str]:
        """The REPL's variables: name -> type name."""
        return show_vars(state)

    for fn in (llm_query, llm_query_batched, rlm_query, FINAL, FINAL_VAR, SHOW_VARS, cite):
        ns[fn.__name__] = fn
    helpers.install(ns, llm_query, llm_query_batched)  # peek, find, ask_chunks & co.
    # by identity: a helper's name the model reuses for its own value (`dates = [...]`) is the
    # model's variable
    _HELPER_OBJECTS.update({name: ns[name] for name in helpers.NAMES})


def show_vars(state: State) -> dict[str, str]:
    return {
        k: type(v).__name__
        for k, v in state.namespace.items()
        if not k.startswith("_") and not _is_helper(k, v) and type(v).__name__ != "module"
    }


def _is_helper(name: str, value: object) -> bool:
    return name in _HELPERS or _HELPER_OBJECTS.get(name) is value


def var_reprs(state: State, limit: int = 500) -> dict[str, str]:
    """The REPL's variables: name -> repr, each cut to `limit` characters (a repr that raises is
    named as such, not fatal)."""
    out = {}
    for name in show_vars(state):
        try:
            text = repr(state.namespace[name])
        except Exception as exc:
            text = f"<repr failed: {type(exc).__name__}>"
        out[name] = text if len(text) <= limit else text[:limit] + "..."
    return out
