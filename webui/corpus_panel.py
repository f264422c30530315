"""Uploading files into a corpus, picking a saved one, and showing what was extracted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from rlm_engine.corpus import Corpus, load_files
from webui.safe_text import safe_markdown
from webui.state import corpus_in_use
from webui.trace import plural

if TYPE_CHECKING:
    from streamlit.runtime.uploaded_file_manager import UploadedFile

    from rlm_engine import Session
    from rlm_engine.config import Credentials
    from rlm_engine.documents import Document, FileProblem
    from storage import CorpusInfo, Database, DocumentInfo
    from storage.subcalls import SubCallStore
    from webui.state import Workspace

UPLOAD_TYPES = ["pdf", "txt", "md", "markdown", "rst", "csv", "tsv", "json", "jsonl", "html",
                "htm", "xml", "tex", "log", "yaml", "yml", "py", "srt", "vtt", "eml"]  # fmt: skip
DOCUMENT_COLUMNS = {  # counts as text, formatted as in the summary above (24,296)
    "pages": st.column_config.TextColumn("Pages", width="small"),
    "characters": st.column_config.TextColumn("Characters", width="small"),
}
UploadKey = tuple[tuple[str, str, int], ...]
"""Which uploads a corpus was extracted from: (file id, name, size) of each."""
NEW_CORPUS = "A new corpus"  # the "Save into" choice that is not an existing corpus (ids are ints)


def field(item: Any, name: str, default: Any = None) -> Any:
    """An attribute of a dataclass or ORM row, or a key of a dict: pages get all three."""
    if isinstance(item, dict):
        return item.get(name, default)
    return getattr(item, name, default)


def _pages(document: Document | DocumentInfo) -> int:
    """A PDF's pages; a text file has none."""
    return (field(document, "n_pages", 0) or 0) if field(document, "kind") == "pdf" else 0


def upload_key(files: Sequence[UploadedFile]) -> UploadKey:
    """Identity of a set of uploads: extraction runs again only when it changes."""
    return tuple((f.file_id, f.name, f.size) for f in files)


def default_name(files: Sequence[UploadedFile]) -> str:
    first = Path(files[0].name).stem
    return first if len(files) == 1 else f"{first} + {len(files) - 1} more"


def extract(files: Sequence[UploadedFile]) -> Corpus:
    """Read the uploads with a progress bar; a bad file becomes a problem, never an exception."""
    bar = st.progress(0.0, text=f"Extracting text from {len(files)} file(s)…")

    def progress(done: int, total: int, name: str) -> None:
        bar.progress(done / total, text=f"Extracted {name} ({done} of {total})")

    try:
        return load_files([(f.name, f.getvalue()) for f in files], on_progress=progress)
    finally:
        bar.empty()


def draw_summary(
    documents: Sequence[Document | DocumentInfo], problems: Sequence[FileProblem] = ()
) -> None:
    """Documents, pages, characters, an estimate of tokens, and every file's problem."""
    chars = sum(field(d, "chars", 0) or 0 for d in documents)
    cols = st.columns(4)
    cols[0].metric("Documents", len(documents))
    cols[1].metric("Pages", sum(_pages(d) for d in documents), help="Of the PDFs.")
    cols[2].metric("Characters", f"{chars:,}")
    cols[3].metric("Tokens (estimate)", f"~{(chars + 3) // 4:,}", help="Characters / 4.")
    if documents:
        st.dataframe(
            [
                {
                    "document": field(d, "name"),
                    "kind": field(d, "kind"),
                    "pages": f"{_pages(d):,}" if _pages(d) else "-",  # a text file has none
                    "characters": f"{field(d, 'chars', 0) or 0:,}",
                }
                for d in documents
            ],
            hide_index=True,
            width="stretch",
            height=min(38 + 35 * len(documents), 250),
            column_config=DOCUMENT_COLUMNS,
        )
    for problem in problems:
        message = field(problem, "message")
        if field(problem, "fatal", True):
            st.error(message, icon=":material/error:")
        else:
            st.warning(message, icon=":material/warning:")


def file_picker(*, key: str, help: str) -> list[UploadedFile]:
    """The uploader of PDF and text files, the same on every page."""
    files = st.file_uploader(
        "PDF or text files", type=UPLOAD_TYPES, accept_multiple_files=True, key=key, help=help
    )
    return list(files or [])


def upload_picker(ws: Workspace, database: Callable[[], Database]) -> None:
    """Drop files; new uploads are extracted at once and become the workspace's corpus.

    An empty uploader (e.g. after visiting another page) leaves the current corpus alone.
    """
    files = file_picker(
        key="ask-upload",
        help="Drag and drop as many files as you like. They are saved as a corpus when you ask.",
    )
    key = upload_key(files) if files else None
    if files and key != ws.upload_key:
        ws.use_corpus(extract(files), corpus_id=None, name=default_name(files), upload_key=key)
        st.session_state["ask-target"] = NEW_CORPUS
        st.session_state["ask-name"] = ws.corpus_name
    if ws.corpus is not None and ws.corpus_id is None:
        _save_target(ws, database)


def _save_target(ws: Workspace, database: Callable[[], Database]) -> None:
    """Where the uploads will be saved when asked about: a new corpus, or an existing one."""
    corpora = {c.id: c.name for c in database().list_corpora()}
    if st.session_state.get("ask-target") not in corpora:
        st.session_state["ask-target"] = NEW_CORPUS
    st.session_state.setdefault("ask-name", ws.corpus_name)
    left, right = st.columns(2)
    target = left.selectbox(
        "Save into",
        [NEW_CORPUS, *corpora],
        format_func=lambda i: NEW_CORPUS if i == NEW_CORPUS else f"Existing corpus: {corpora[i]}",
        key="ask-target",
    )
    ws.target_corpus_id = None if target == NEW_CORPUS else target
    if ws.target_corpus_id is None:
        name = right.text_input("New corpus name", key="ask-name")
        ws.corpus_name = name.strip() or ws.corpus_name


@dataclass
class NewCorpus:
    """The Corpora page's uploads: extracted once per set of files; `round` renews the uploader
    (empty again) after a save."""

    round: int = 0
    upload_key: UploadKey | None = None
    corpus: Corpus | None = None


def new_corpus_from_files(db: Database) -> CorpusInfo | None:
    """Drop files, see what was extracted, name it, save it: the saved corpus, once saved."""
    new = st.session_state.setdefault("rlm_new_corpus", NewCorpus())
    files = file_picker(
        key=f"corpora-upload-{new.round}",
        help="Drag and drop as many files as you like; they become one corpus.",
    )
    if not files:
        return None
    key = upload_key(files)
    if key != new.upload_key or new.corpus is None:
        new.upload_key, new.corpus = key, extract(files)
        st.session_state["corpora-new-name"] = default_name(files)
    draw_summary(new.corpus.documents, new.corpus.problems)
    name = st.text_input("Name of the new corpus", key="corpora-new-name")
    if st.button(
        "Save as a new corpus",
        type="primary",
        icon=":material/save:",
        key="corpora-new-save",
        disabled=not new.corpus.documents,
    ):
        saved = db.save_corpus(name.strip() or default_name(files), new.corpus.documents)
        new.round, new.upload_key, new.corpus = new.round + 1, None, None
        return saved
    return None


def corpus_actions(ws: Workspace, db: Database, corpus: CorpusInfo) -> None:
    """Ask about it, rename, delete: a run reading the corpus is never stopped by these (they
    wait until it ends)."""
    busy = corpus_in_use(corpus.id)
    actions = st.columns([1, 1, 1, 3])
    if actions[0].button(
        "Ask about it",
        icon=":material/chat:",
        type="primary",
        disabled=ws.running is not None,
        help="A run is going on the Ask page: stop it first." if ws.running else None,
    ):
        ws.use_corpus(None, corpus_id=corpus.id, name=corpus.name)
        st.switch_page("pages/ask.py")
    with actions[1].popover("Rename", icon=":material/edit:"), st.form("corpora-rename"):
        name = st.text_input("New name", value=corpus.name, key="corpora-name")
        if st.form_submit_button("Rename", key="corpora-rename-ok") and name.strip():
            db.rename_corpus(corpus.id, name.strip())
            if ws.corpus_id == corpus.id:
                ws.corpus_name = name.strip()
            st.rerun()
    with actions[2].popover("Delete", icon=":material/delete:"):
        if busy:
            st.warning(
                f"A run on the {busy} page is reading this corpus: stop it there, or let it "
                "end, before deleting the corpus.",
                icon=":material/warning:",
            )
        else:
            st.write(
                f"Delete **{safe_markdown(corpus.name)}** and its documents? "
                "Its runs stay in History."
            )
        if st.button("Delete corpus", type="primary", key="corpora-delete", disabled=bool(busy)):
            db.delete_corpus(corpus.id)
            if ws.corpus_id == corpus.id:
                ws.clear_corpus()
            st.session_state.pop("corpora-open", None)
            st.rerun()


def saved_corpus_picker(ws: Workspace, db: Database) -> None:
    """Choose a saved corpus; choosing another one starts a new conversation."""
    corpora = {c.id: c for c in db.list_corpora()}
    if not corpora:
        st.info("No saved corpus yet: upload files to make one.", icon=":material/info:")
        return
    if st.session_state.get("ask-saved") not in corpora:
        st.session_state["ask-saved"] = ws.corpus_id if ws.corpus_id in corpora else None

    def picked() -> None:
        chosen = corpora.get(st.session_state["ask-saved"])
        if chosen is not None and chosen.id != ws.corpus_id:
            ws.use_corpus(None, corpus_id=chosen.id, name=chosen.name)

    st.selectbox(
        "Corpus",
        list(corpora),
        format_func=lambda i: (
            f"{corpora[i].name} · {plural(corpora[i].n_documents, 'document')} · "
            f"{corpora[i].total_chars:,} characters"
        ),
        index=None,
        placeholder="Choose a saved corpus",
        key="ask-saved",
        on_change=picked,
    )


def draw_workspace_corpus(ws: Workspace, database: Callable[[], Database]) -> None:
    """What the questions will be asked of (the database is opened only for a saved corpus)."""
    if ws.corpus is not None:
        draw_summary(ws.corpus.documents, ws.corpus.problems)
    elif ws.corpus_id is not None:
        draw_summary(database().get_corpus(ws.corpus_id).documents)


def ensure_saved(ws: Workspace, db: Database) -> None:
    """Save uploads the first time a question is asked of them: as a new corpus, or added to an
    existing one (whose documents then all make up the context)."""
    if ws.corpus_id is not None:
        return
    documents = list(ws.corpus.require_documents().documents)
    if ws.target_corpus_id is None:
        ws.corpus_id = db.save_corpus(ws.corpus_name or "Untitled", documents).id
        return
    info = db.add_documents(ws.target_corpus_id, documents)
    ws.corpus, ws.corpus_id, ws.corpus_name = None, info.id, info.name


def make_session(ws: Workspace, db: Database, credentials: Credentials) -> Session:
    """An engine session (one sandbox) over the workspace's corpus."""
    from rlm_engine import Session
    from webui.resources import hidden_paths

    if ws.corpus is not None:
        context, documents = ws.corpus.context, ws.corpus.documents
    else:
        context = db.corpus_context(ws.corpus_id)
        documents = db.get_corpus(ws.corpus_id).documents  # names and pages for sources
    return Session(
        context,
        credentials=credentials,
        hidden_paths=hidden_paths(),
        documents=documents,
        sub_call_cache=sub_call_store(db),
    )


def sub_call_store(db: Database) -> SubCallStore | None:
    """The database's sub-call cache, or None for a read-only database (the runs pay as usual;
    the config's flag only asks for a cache)."""
    return None if db.read_only else db.sub_call_cache()
