"""The one rendering rule for model-controlled text (webui/safe_text.py), and the pages using it.

The browser proof is tests/test_browser_hostile.py (real Chromium, every request recorded); these
check the rule itself and that each page passes stored model text through it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from rlm_engine.corpus import load_files
from rlm_engine.events import Usage
from rlm_testkit.runs import call_finished, call_started, code, final, finished, root, started
from tests.apptest import open_app, record_run
from webui.compare_view import word_diff
from webui.safe_text import ZWSP, safe_html, safe_markdown

LEAK = "http://127.0.0.1:9/leak"
PAYLOADS = [
    f"![x]({LEAK}?md)",
    f'<img src="{LEAK}?img">',
    f"<iframe src={LEAK}?iframe></iframe>",
    f"<style>@import url({LEAK}?css)</style>",
    f"<script>fetch('{LEAK}?js')</script>",
    f"<{LEAK}?autolink>",
    f"[click me]({LEAK}?link)",
    f"![r][ref]\n\n[ref]: {LEAK}?ref",
    f"![r]\n\n[r]: {LEAK}?shortcut",
    f"  ```mermaid\ngraph TD\nA[\"<img src='{LEAK}?mermaid'>\"]\n```",
    f"- item\n  ```\n![x]({LEAK}?in-list)\n  ```",
    f"`code` \\`![x]({LEAK}?escaped-tick)`",
    f"~~~ Mermaid\ngraph\n~~~\n<IMG SRC={LEAK}?upper>",
]
# What would open markup in CommonMark/GFM: a `<`, an image, a link's or definition's bracket.
_OPENERS = re.compile(r"<(?!\u200b)|!\[|\][(\[:]|(`{3,}|~{3,})[ \t]*mermaid", re.IGNORECASE)


@pytest.mark.parametrize("text", PAYLOADS)
def test_no_markup_can_open_in_safe_markdown(text: str) -> None:
    safe = safe_markdown(text)
    assert _OPENERS.search(safe) is None
    assert safe.replace(ZWSP, "") == text  # nothing is lost: the text reads as written


def test_readable_formatting_is_kept() -> None:
    text = "# Total\n\n**7431** and _euros_, `x = [1, 2]`\n\n- one\n- two\n\n| a | b |\n|---|---|"
    assert safe_markdown(text) == text


def test_safe_html_shows_tags_as_text() -> None:
    assert (
        safe_html(f'<img src="{LEAK}">&amp;') == "&lt;img src=&quot;" + LEAK + "&quot;&gt;&amp;amp;"
    )


def test_the_diff_compares_answers_as_written() -> None:
    """It used to strip Markdown by regex and ate `__init__`'s underscores."""
    diff = word_diff("call __init__ on _private_ now", "call __init__ on _public_ now")
    assert diff == "call __init__ on <del>_private_</del> <ins>_public_</ins> now"
    assert "&lt;img" in word_diff("a", f"a <img src={LEAK}>")


def _drawn_texts(at: Any) -> list[str]:
    """Every piece of text the page hands to Streamlit's Markdown renderer."""
    texts = [str(m.value) for m in at.markdown] + [str(c.value) for c in at.caption]
    texts += [str(e.value) for e in at.error] + [e.label for e in at.expander]
    texts += [str(h.value) for h in at.subheader]
    for radio in at.radio:  # History's list: each row's question and its line of figures
        texts += [*radio.options, *radio.proto.captions]
    return texts


def _assert_all_safe(texts: list[str]) -> None:
    leaking = [t for t in texts if "leak" in t and _OPENERS.search(t)]
    assert leaking == []
    assert any("leak" in t for t in texts), "the payloads were not drawn at all"


def test_history_draws_stored_model_text_through_the_rule(app_db: Any) -> None:
    payload = " ".join(p.replace("\n", " ") for p in PAYLOADS[:7])
    run_id = record_run(
        app_db, f"Question {payload}", answer=f"The answer {payload}", model=f"m{PAYLOADS[0]}"
    )
    at = open_app("pages/history.py")
    at = at.selectbox(key="history-open").set_value(run_id).run()
    assert not at.exception
    _assert_all_safe(_drawn_texts(at))


def test_compare_draws_answers_labels_and_diffs_through_the_rule(app_db: Any) -> None:
    payload = " ".join(p.replace("\n", " ") for p in PAYLOADS[:7])
    comparison_id = app_db.create_comparison("Which code?", None, [f"a{PAYLOADS[0]}", "b"])
    for label, answer in ((f"a{PAYLOADS[0]}", f"7431 {payload}"), ("b", f"<b>1111</b> {payload}")):
        record_run(app_db, "Q", answer=answer, comparison_id=comparison_id, label=label)
    at = open_app("pages/compare.py")
    at = at.selectbox(key="cmp-saved").set_value(comparison_id).run()
    assert not at.exception
    _assert_all_safe(_drawn_texts(at) + [t.label for t in at.tabs])
    (diff,) = [h.proto.body for h in at.get("html") if "1111" in h.proto.body]
    assert "<img" not in diff and "&lt;img" in diff


def test_corpora_draws_a_shared_corpus_name_through_the_rule(app_db: Any) -> None:
    """A corpus name comes from another visitor's upload on a shared server."""
    documents = load_files([("n.txt", b"notes")]).documents
    corpus = app_db.save_corpus(f"Notes {PAYLOADS[0]} {PAYLOADS[1]}", documents)
    at = open_app("pages/corpora.py")
    at = at.selectbox(key="corpora-open").set_value(corpus.id).run()
    assert not at.exception
    _assert_all_safe(_drawn_texts(at))


def test_a_child_rlm_s_reasoning_and_answer_go_through_the_rule(app_db: Any) -> None:
    """A child RLM (rlm_query) drawn under its sub-call, once the user picks that sub-call."""
    payload = " ".join(p.replace("\n", " ") for p in PAYLOADS[:7])
    run_id, now = "parent-run", 1_700_000_000.0
    top = {"run_id": run_id, "time": now}
    child = {**top, "depth": 1, "parent_call_id": "c1"}
    zero = {"usage": Usage(1, 1), "cost_usd": 0.0, "elapsed_s": 0.1}
    events = [
        started(**top, question="Q", config={"root": {"provider": "openai", "model": "m"}}),
        root(1, "```repl\nrlm_query('x')\n```", **top, **zero),
        call_started("c1", **top, kind="rlm", model="m", prompt=payload),
        started(**child, question=payload),
        root(1, f"Child thinks {payload}", **child, **zero),
        final(f"Child says {payload}", **child),
        finished(
            **child,
            answer=f"Child says {payload}",
            iterations=1,
            input_tokens=1,
            output_tokens=1,
            elapsed_s=0.1,
        ),
        call_finished("c1", **top, response=payload, **zero),
        code(1, payload, **top, code="x", output_chars=10),
        final("done", **top),
        finished(
            **top,
            answer="done",
            iterations=1,
            sub_calls=1,
            input_tokens=2,
            output_tokens=2,
            elapsed_s=0.3,
        ),
    ]
    record = app_db.recorder()
    for event in events:
        record(event)
    at = open_app("pages/history.py")
    at = at.selectbox(key="history-open").set_value(run_id).run()
    at = at.selectbox(key=f"history-{run_id}-it0-b0-pick").set_value(0).run()
    assert not at.exception
    texts = _drawn_texts(at)
    assert any(t.startswith("Child answer:") for t in texts), "the child was not drawn"
    _assert_all_safe(texts)
