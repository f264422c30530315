"""Matching REPL outputs and prompts against the corpus (rlm_engine.sources), and the answer's
sources chosen from what was seen."""

from __future__ import annotations

import pytest

from rlm_engine.sources import (
    CorpusIndex,
    Passage,
    SourceDoc,
    answer_sources,
    check_citation,
    distinctive_parts,
    source_documents,
)
from rlm_testkit.prose import prose

NEEDLE = "The secret code for the Lisbon vault is 4417, said the clerk."
FACT = "Invoice 99812 was paid on 3 March 2027 by Acme Corp."


@pytest.fixture(scope="module")
def corpus() -> tuple[CorpusIndex, str, str]:
    text = prose(30_000, 1) + NEEDLE + "\n" + prose(30_000, 2)
    pages = [prose(2500, 3), prose(1200, 4) + FACT + "\n" + prose(1500, 5), prose(2500, 6)]
    pdf = "\f".join(pages)
    offsets = (0, len(pages[0]) + 1, len(pages[0]) + len(pages[1]) + 2)
    index = CorpusIndex([SourceDoc("notes.txt", text), SourceDoc("report.pdf", pdf, offsets)])
    return index, text, pdf


def check(index: CorpusIndex, passage: Passage) -> None:
    """The contract: the passage is the document's own text at those offsets."""
    doc = index.documents[passage.document_index]
    assert doc.text[passage.start : passage.end] == passage.text
    assert passage.document == doc.name


def assert_spans(text: str, passage: Passage, start: int, end: int) -> None:
    """The passage is text[start:end] but for the punctuation and spaces at its ends (a passage
    starts and ends with a letter or digit)."""
    assert passage.text == text[passage.start : passage.end]
    assert start <= passage.start and text[start : passage.start].strip(" .,\n") == ""
    assert passage.end <= end and text[passage.end : end].strip(" .,\n") == ""


def test_an_exact_slice_is_found_with_its_offsets(corpus) -> None:
    index, text, _ = corpus
    i = text.index(NEEDLE)
    found = index.find(f"Result: {text[i - 120 : i + 90]} (end)")
    assert len(found) == 1
    check(index, found[0])
    assert found[0].start <= i and found[0].end >= i + len(NEEDLE)
    assert found[0].page is None and found[0].document_index == 0


def test_repr_of_strings_and_lists_is_found(corpus) -> None:
    index, text, _ = corpus
    i = text.index(NEEDLE)
    chunk = text[i - 200 : i + 200]
    for shown in (repr(chunk), repr(chunk.splitlines()), repr({"hit": chunk})):
        found = index.find(shown)
        assert any(p.start <= i < p.end for p in found), shown[:80]
        for p in found:
            check(index, p)


def test_joined_lines_and_rewrapped_whitespace_are_found(corpus) -> None:
    index, text, _ = corpus
    i = text.index(NEEDLE)
    lines = text[i - 300 : i + 300].splitlines()
    for shown in (" ".join(lines), "".join(lines), "\n\n".join(lines).replace(" ", "  ")):
        found = index.find(shown)
        assert any(p.start <= i < p.end for p in found)


def test_truncation_marker_splits_the_output_into_two_passages(corpus) -> None:
    index, text, _ = corpus
    head, tail = text[1000:1400], text[20_000:20_400]
    shown = f"{head}\n... [18,600 characters truncated] ...\n{tail}"
    first, second = index.find(shown)
    assert_spans(text, first, 1000, 1400)
    assert_spans(text, second, 20_000, 20_400)


def test_short_and_generic_fragments_do_not_count(corpus) -> None:
    index, text, _ = corpus
    assert index.find("4417") == []
    assert index.find("the secret") == []
    assert index.find("Nothing of this is in the corpus at all, not a single word.") == []
    # a word or two of the corpus inside other text is no passage either
    word = text.split()[5]
    assert index.find(f"Our notes mention {word} once") == []


def test_a_passage_never_crosses_a_page_break(corpus) -> None:
    index, _, pdf = corpus
    brk = pdf.index("\f")
    found = index.find(pdf[brk - 300 : brk + 300])
    assert [p.page for p in found] == [1, 2]
    for p in found:
        check(index, p)
        assert "\f" not in p.text
    assert found[0].end <= brk < found[1].start


def test_pages_are_one_based_from_the_page_offsets(corpus) -> None:
    index, _, pdf = corpus
    i = pdf.index(FACT)
    (found,) = index.find(pdf[i - 50 : i + len(FACT) + 20])
    assert found.page == 2 and found.document == "report.pdf"
    check(index, found)


def test_overlapping_outputs_merge_into_one_passage(corpus) -> None:
    index, text, _ = corpus
    shown = text[5000:5600] + "\n---\n" + text[5400:6000]
    (found,) = index.find(shown)
    assert_spans(text, found, 5000, 6000)


def test_unicode_text_matches_with_exact_offsets() -> None:
    text = (
        prose(5000, 7)
        + "Der Vertrag mit Müller & Söhne läuft am 31. Dezember 2027 aus — “verlängert”.\n"
    )
    text += "日本語の契約書は二〇二七年に更新されます。東京本社が署名しました。\n" + prose(5000, 8)
    index = CorpusIndex([SourceDoc("vertrag.txt", text)])
    for needle in (
        "Müller & Söhne läuft am 31. Dezember 2027",
        "日本語の契約書は二〇二七年に更新されます",
    ):
        i = text.index(needle)
        (found,) = index.find(repr(text[i - 5 : i + len(needle) + 5]))
        check(index, found)
        assert found.start <= i and found.end >= i + len(needle)


def test_many_documents_keep_their_offsets() -> None:
    docs = [prose(2000, 100 + i) for i in range(40)]
    index = CorpusIndex(source_documents(docs))
    (found,) = index.find(docs[33][700:1100])
    assert (found.document_index, found.start, found.end) == (33, 700, 1100)
    assert found.document == "context[33]"


def test_distinctive_parts_of_an_answer() -> None:
    parts = {p.text for p in distinctive_parts('Acme Corp paid invoice 99,812 on "3 March 2027".')}
    assert {"Acme Corp", "99,812", "3 March 2027"} <= parts
    assert "paid" not in parts


def test_answer_sources_are_the_seen_passages_holding_its_parts(corpus) -> None:
    index, text, pdf = corpus
    i, j = text.index(NEEDLE), pdf.index(FACT)
    seen = index.find(text[i - 400 : i + 400]) + index.find(pdf[j - 300 : j + 300])
    (source,) = answer_sources("The code is 4417.", seen, index)
    check(index, source)
    assert "4417" in source.text and source.document == "notes.txt"
    assert len(source.text) < 500  # the lines around the fact, not the whole printout
    (fact,) = answer_sources("Acme Corp paid invoice 99812.", seen, index)
    assert fact.page == 2 and "99812" in fact.text
    assert answer_sources("The code is 5555.", seen, index) == []


@pytest.mark.parametrize(
    "answer", ["2027-03-01", "It renews on 2027-03-01.", "01/03/2027", "09:30"]
)
def test_dates_and_times_are_found_as_written(answer: str) -> None:
    text = "Juniper Energy renews on 2027-03-01 (01/03/2027) at 09:30, the notice says."
    index = CorpusIndex([SourceDoc("a.txt", prose(3000, 7) + text + "\n" + prose(3000, 8))])
    seen = index.find(text)
    (source,) = answer_sources(answer, seen, index)
    check(index, source)
    assert "Juniper Energy renews on 2027-03-01" in source.text


def test_unseen_passages_are_never_sources(corpus) -> None:
    index, text, _ = corpus
    seen = index.find(text[100:900])
    assert answer_sources("The code is 4417.", seen, index) == []


def test_citations_must_be_verbatim_corpus_text(corpus) -> None:
    index = corpus[0]
    passages, why = check_citation(NEEDLE, index)
    assert why is None and passages[0].text.startswith("The secret code")
    passages, why = check_citation(
        "The secret code for the Paris vault is 9999, said the clerk.", index
    )
    assert passages == [] and why == "not found verbatim in the corpus"
    assert check_citation("4417", index)[1].startswith("too short")
