"""What one browser session keeps between script runs: settings, the Ask workspace, comparisons.

Everything lives in `st.session_state` under a few fixed keys (never widget keys, which Streamlit
drops when a page stops drawing them). API keys stay here, in memory, for the session only.
"""

from __future__ import annotations

import logging
import threading
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import streamlit as st

from rlm_engine.config import Credentials
from rlm_engine.providers.registry import PROVIDERS
from webui.runner import RunHandle

if TYPE_CHECKING:
    from rlm_engine import Session
    from rlm_engine.corpus import Corpus
    from webui.corpus_panel import UploadKey
    from webui.resume import EarlierTurn

log = logging.getLogger(__name__)


@dataclass
class Settings:
    """Session-only settings. Keys are never saved anywhere; the environment fills the gaps."""

    # provider name -> what was typed on the Settings page ("" or missing: nothing typed)
    keys: dict[str, str] = field(default_factory=dict)
    base_urls: dict[str, str] = field(default_factory=dict)
    # model name -> (USD per million input tokens, USD per million output tokens)
    price_overrides: dict[str, tuple[float, float]] = field(default_factory=dict)
    # answer identical sub-calls over the same corpus from the database, at $0 (RunConfig)
    sub_call_cache: bool = False

    def credentials(self) -> Credentials:
        """The session's keys and endpoints. A base URL typed here takes only a key typed here:
        the environment's key goes to the environment's base URL (or the provider's default) and
        nowhere else, so a visitor cannot have the server's key sent to an address of theirs."""
        env = Credentials.from_env()
        keys, urls = {}, {}
        for name in PROVIDERS:
            typed_key, typed_url = self.keys.get(name, ""), self.base_urls.get(name, "")
            keys[name], urls[name] = _key_for_url(
                typed_key, typed_url, env.key(name), env.base_url(name)
            )
        return Credentials(keys, urls)

    def missing_keys(self) -> list[str]:
        """The providers whose typed base URL has no typed key (refused by the Settings form)."""
        return [
            info.title
            for name, info in PROVIDERS.items()
            if self.base_urls.get(name, "").strip() and not self.keys.get(name, "").strip()
        ]

    def __repr__(self) -> str:  # keys never show up in logs or tracebacks
        return "Settings(***)"


def _key_for_url(
    typed_key: str, typed_url: str, env_key: str | None, env_url: str | None
) -> tuple[str | None, str | None]:
    """(key, base URL) for one provider: a typed URL never gets the environment's key."""
    key, url = typed_key.strip() or None, typed_url.strip() or None
    if url:
        return key, url
    return key or env_key, env_url


def _close_quietly(session: Session) -> None:
    try:
        session.close()
    except Exception:
        log.exception("Closing an engine session failed")


@dataclass
class Workspace:
    """The Ask page's corpus, its engine session (one sandbox) and the conversation so far.

    Follow-up questions reuse `session`, so the REPL's variables persist. Changing the corpus, or
    starting a new conversation, closes the session (and its sandbox subprocess).
    """

    corpus_id: int | None = None  # the saved corpus the runs are recorded under
    corpus_name: str = ""
    corpus: Corpus | None = None  # the extracted documents
    upload_key: UploadKey | None = None  # which uploads `corpus` was extracted from
    target_corpus_id: int | None = None  # an existing corpus the uploads will be added to
    session: Session | None = None  # made on the first question
    conversation: list[RunHandle] = field(default_factory=list)
    conversation_id: str = ""  # what this conversation's runs are saved under ("" until asked)
    earlier: list[EarlierTurn] = field(default_factory=list)  # when resumed
    _finalizer: weakref.finalize | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def has_documents(self) -> bool:
        return self.corpus_id is not None or bool(self.corpus and self.corpus.documents)

    @property
    def running(self) -> RunHandle | None:
        return next((h for h in self.conversation if not h.done), None)

    def use_corpus(
        self,
        corpus: Corpus | None,
        *,
        corpus_id: int | None,
        name: str,
        upload_key: UploadKey | None = None,
    ) -> None:
        """Switch to another corpus: the old session and conversation end."""
        self.new_conversation()
        self.corpus, self.corpus_id, self.corpus_name = corpus, corpus_id, name
        self.upload_key, self.target_corpus_id = upload_key, None

    def clear_corpus(self) -> None:
        self.use_corpus(None, corpus_id=None, name="")

    def engine_session(self, make: Callable[[], Session]) -> Session:
        """The session of this conversation, made with `make()` the first time."""
        with self._lock:
            if self.session is None:
                self.session = make()
                self._finalizer = weakref.finalize(self, _close_quietly, self.session)
            return self.session

    def conversation_key(self) -> str:
        """The id this conversation's runs are recorded with (History groups by it)."""
        if not self.conversation_id:
            self.conversation_id = uuid.uuid4().hex
        return self.conversation_id

    def new_conversation(self) -> None:
        """Stop a run in flight, close the sandbox and forget the conversation."""
        for handle in self.conversation:
            handle.stop()
        with self._lock:
            if self._finalizer is not None:
                self._finalizer()  # closes the session once, now
            self.session, self._finalizer = None, None
        self.conversation, self.conversation_id, self.earlier = [], "", []


@dataclass
class CompareState:
    """The comparison on screen: its question and one handle per configuration."""

    question: str = ""
    handles: list[RunHandle] = field(default_factory=list)
    corpus_id: int | None = None  # the saved corpus the runs read

    @property
    def running(self) -> bool:
        return any(not h.done for h in self.handles)


Value = TypeVar("Value")


def kept(
    widget: Callable[..., Value], label: str, *, key: str, default: object, **kwargs: Any
) -> Value:
    """`widget(label, key=key, ...)` whose value outlives visits to other pages.

    Streamlit forgets the value of a widget that a run does not draw; a copy kept under a plain
    state key puts it back when the page is drawn again. A value the user never changed follows
    the default instead (e.g. the provider after a key was added in Settings).
    """
    store = st.session_state.setdefault("rlm_kept", {})
    if key not in st.session_state:
        changed = key in store and store[key] != store.get(f"{key}#default")
        st.session_state[key] = store[key] if changed else default
    value = widget(label, key=key, **kwargs)
    store[key], store[f"{key}#default"] = value, default
    return value


def corpus_in_use(corpus_id: int | None) -> str | None:
    """The page whose run is reading this saved corpus now ("Ask", "Compare" or "Evaluate")."""
    ws = workspace()
    if ws.running is not None and ws.corpus_id == corpus_id:
        return "Ask"
    comparison = compare_state()
    if comparison.running and comparison.corpus_id == corpus_id:
        return "Compare"
    evaluation = st.session_state.get("rlm_evaluate")  # webui.eval_job.EvalPage
    job = getattr(evaluation, "job", None)
    if job is not None and not job.done and job.corpus_id == corpus_id:
        return "Evaluate"
    return None


def settings() -> Settings:
    """The session's settings; a new session starts from the price overrides saved on disk."""
    if "rlm_settings" not in st.session_state:
        from webui.saved_prices import load_prices

        st.session_state["rlm_settings"] = Settings(price_overrides=load_prices())
    return st.session_state["rlm_settings"]


def workspace() -> Workspace:
    return st.session_state.setdefault("rlm_workspace", Workspace())


def compare_state() -> CompareState:
    return st.session_state.setdefault("rlm_compare", CompareState())
