"""Evaluate: a question set run under 1-6 configurations, scored; past evaluations."""

from __future__ import annotations

import streamlit as st

from webui import eval_results, eval_setup
from webui.eval_job import eval_page
from webui.resources import database, shown_errors
from webui.state import settings

page = eval_page()
st.title("Evaluate")

new, past = st.tabs(["New evaluation", "Evaluations"])
with new, shown_errors("The evaluation could not start"):
    db = database()
    questions = eval_setup.pick_set(page, db)
    corpus_id = eval_setup.pick_corpus(page, db)
    configs = eval_setup.pick_configs(settings())
    if questions and corpus_id is not None:
        eval_setup.start(page, db, settings(), questions, corpus_id, configs)
    eval_results.progress(page)
with past, shown_errors("The evaluations could not be read"):
    eval_results.past(page, database())
with shown_errors("The results could not be read"):
    eval_results.results(page, database(), settings())
