"""Ask: pick or upload a corpus, ask a question, watch the run, read the answer, follow up.

The first page of a cold start: what it draws before a question is asked imports little; the
run's drawing (numpy via the sources) and storage are imported when needed, and warmed up in the
background once the page is drawn (webui.warmup).
"""

from __future__ import annotations

import streamlit as st

from webui import corpus_panel
from webui.ask_again import prefilled_question
from webui.config_form import METHOD_TITLES, budgets_picker, method_picker, model_picker, run_config
from webui.resources import database, shown_errors
from webui.resume import draw_earlier
from webui.safe_text import safe_markdown
from webui.state import settings, workspace
from webui.warmup import warm_up

ws = workspace()
prefs = settings()
credentials = prefs.credentials()

st.title("Ask")

# --- the corpus ---------------------------------------------------------------------------------
shown_name = ws.corpus_name
summary = f"Documents · {shown_name}" if shown_name else "Documents"
with st.expander(summary, expanded=not ws.conversation, icon=":material/description:"):
    source = st.segmented_control(
        "Source",
        ["Upload files", "Saved corpus"],
        default="Saved corpus" if ws.corpus_id and ws.corpus is None else "Upload files",
        key="ask-source",
        disabled=ws.running is not None,
    )
    with shown_errors("The documents could not be loaded"):
        if ws.running is not None:
            st.caption("The documents cannot change while a run is going: stop it first.")
        elif source == "Saved corpus":
            corpus_panel.saved_corpus_picker(ws, database())
        else:
            corpus_panel.upload_picker(ws, database)
        corpus_panel.draw_workspace_corpus(ws, database)
if ws.corpus_name != shown_name:
    st.rerun()  # the header names the documents just chosen, not the ones before

# --- models and budgets -------------------------------------------------------------------------
with st.expander("Models and budgets", icon=":material/tune:"):
    root = model_picker("Root", key="ask-root", role="root", credentials=credentials)
    sub = model_picker("Sub", key="ask-sub", role="sub", credentials=credentials)
    budgets = budgets_picker(key="ask-budgets")
    method = method_picker(key="ask")
config = run_config(
    root, sub, budgets, prefs.price_overrides, method=method, sub_call_cache=prefs.sub_call_cache
)
st.caption(
    f"Root **{safe_markdown(root.label)}** · sub **{safe_markdown(sub.label)}** · "
    f"up to {budgets.max_iterations} iterations · method **{METHOD_TITLES[method]}**"
)

# --- the conversation ---------------------------------------------------------------------------
draw_earlier(ws)  # a conversation resumed from History: its saved turns
if ws.conversation:
    from webui.live import draw_handle, follow_the_run
    from webui.sources_view import corpus_documents

    if st.session_state.pop("ask-follow", False):
        follow_the_run()  # just asked: the view goes to the run and follows it
for position, handle in enumerate(ws.conversation):
    with st.chat_message("user"):
        st.markdown(safe_markdown(handle.question))
    with st.chat_message("assistant", avatar=":material/account_tree:"):
        draw_handle(
            handle,
            key=f"ask-run-{position}",
            documents=corpus_documents(database(), ws.corpus_id),  # saved before each run
        )

if (ws.conversation or ws.earlier) and ws.running is None:
    st.button(
        "New conversation",
        icon=":material/restart_alt:",
        help="Forget the REPL's variables and start again with the same documents.",
        on_click=ws.new_conversation,
    )

placeholder = "Ask a question about these documents"
if ws.conversation:
    placeholder = "Ask a follow-up (the REPL keeps its variables)"
elif ws.earlier:
    placeholder = "Ask a follow-up (the REPL starts fresh)"
if ws.running is not None:
    placeholder = "Wait for the run to finish, or stop it"
elif not ws.has_documents:
    placeholder = "Upload files or pick a saved corpus first"
again = prefilled_question(ws)  # a question sent from History to ask again
question = st.chat_input(
    placeholder, key="ask-question", disabled=ws.running is not None or not ws.has_documents
)
question = again or question
if question is not None and not question.strip():
    st.warning(
        "Nothing was asked: the question was empty or only spaces. Type a question.",
        icon=":material/edit_off:",
    )
elif question:
    from webui.runner import start_run

    with shown_errors("The run could not start"):
        db = database()
        corpus_panel.ensure_saved(ws, db)
        session = ws.engine_session(lambda: corpus_panel.make_session(ws, db, credentials))
        session.credentials = credentials  # keys typed in Settings since the last question
        handle = start_run(
            session,
            question.strip(),
            config,
            recorder=db.recorder(corpus_id=ws.corpus_id, conversation_id=ws.conversation_key()),
        )
        ws.conversation.append(handle)
        st.session_state["ask-follow"] = True  # the next run scrolls to the live run
        st.rerun()

warm_up()  # after the page is drawn: what the first question will need
