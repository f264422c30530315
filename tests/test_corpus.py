"""Corpus loading: real files, real PDFs from rlm_testkit/pdf.py, real PDFium and pypdf."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rlm_engine.corpus import Corpus, context_metadata, load_files, load_paths
from rlm_engine.corpus_pdf import normalise_pdfium_text, pdfium_pages, pypdf_pages
from rlm_engine.errors import CorpusError
from rlm_testkit.pdf import encrypt_pdf, make_pdf

PAGES = ["First page", "Second page\nwith two lines", "Third (and last) page"]


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def fatal_names(corpus: Corpus) -> list[str]:
    return [p.name for p in corpus.problems if p.fatal]


# --- text --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"plain words\n", "plain words\n"),
        (b"windows\r\nlines\r\n", "windows\r\nlines\r\n"),
        ("caf\u00e9 \u2013 \u65e5\u672c".encode(), "caf\u00e9 \u2013 \u65e5\u672c"),
        (b"bad \xff\xfe byte", "bad \ufffd\ufffd byte"),
        (b"\xef\xbb\xbfwith bom", "with bom"),
        ("utf16 text".encode("utf-16"), "utf16 text"),
    ],
    ids=["plain", "crlf", "unicode", "undecodable", "utf8-bom", "utf16-bom"],
)
def test_text_file_is_its_exact_text(tmp_path: Path, data: bytes, text: str) -> None:
    corpus = load_paths([write(tmp_path / "a.txt", data)])
    assert corpus.documents[0].text == text


def test_text_document_has_kind_text_and_no_pages(tmp_path: Path) -> None:
    doc = load_paths([write(tmp_path / "notes.md", b"# Title\n")]).documents[0]
    assert (doc.kind, doc.n_pages, doc.page_offsets) == ("text", 0, ())


def test_sha256_is_of_the_file_bytes(tmp_path: Path) -> None:
    data = b"some bytes \xff"
    doc = load_paths([write(tmp_path / "a.txt", data)]).documents[0]
    assert doc.sha256 == hashlib.sha256(data).hexdigest()


def test_explicit_file_of_unknown_extension_is_read_as_text(tmp_path: Path) -> None:
    corpus = load_paths([write(tmp_path / "data.weird", b"still text")])
    assert corpus.context == "still text"


def test_explicit_binary_file_is_a_fatal_problem(tmp_path: Path) -> None:
    corpus = load_paths([write(tmp_path / "blob.bin", b"\x00\x01\x02 binary")])
    assert (corpus.documents, fatal_names(corpus)) == ((), [str(tmp_path / "blob.bin")])


# --- PDF ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kerned", [False, True], ids=["Tj-lines", "TJ-word-arrays"])
def test_pdf_pages_are_joined_by_form_feed(tmp_path: Path, kerned: bool) -> None:
    corpus = load_paths([write(tmp_path / "r.pdf", make_pdf(PAGES, kerned=kerned))])
    assert corpus.context == "\f".join(PAGES)


def test_pdf_line_end_hyphen_is_kept_with_its_line_break() -> None:
    corpus = load_files([("r.pdf", make_pdf(["structures man-\nagement and x-ray"]))])
    assert corpus.context == "structures man-\nagement and x-ray"


def test_pdf_page_offsets_point_at_each_page(tmp_path: Path) -> None:
    doc = load_paths([write(tmp_path / "r.pdf", make_pdf(PAGES))]).documents[0]
    assert [doc.text[o : o + len(p)] for o, p in zip(doc.page_offsets, PAGES, strict=True)] == PAGES


def test_pdf_counts_pages_and_maps_offsets_to_pages(tmp_path: Path) -> None:
    doc = load_paths([write(tmp_path / "r.pdf", make_pdf(PAGES))]).documents[0]
    assert (doc.kind, doc.n_pages, doc.page_at(doc.page_offsets[2])) == ("pdf", 3, 3)


def test_pdf_with_some_blank_pages_loads_with_a_note(tmp_path: Path) -> None:
    corpus = load_paths([write(tmp_path / "r.pdf", make_pdf(["Text", None]))])
    assert corpus.context == "Text\f"
    assert [(p.fatal, "OCR" in p.message) for p in corpus.problems] == [(False, True)]


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-256"])
def test_pdf_opening_with_empty_password_loads(tmp_path: Path, algorithm: str) -> None:
    data = encrypt_pdf(make_pdf(PAGES), user_password="", algorithm=algorithm)
    assert load_paths([write(tmp_path / "r.pdf", data)]).context == "\f".join(PAGES)


READABLE_PDFS = {
    "plain": lambda: make_pdf(PAGES),
    "TJ-word-arrays": lambda: make_pdf(PAGES, kerned=True),
    "rc4-empty-password": lambda: encrypt_pdf(make_pdf(PAGES), ""),
    "aes-empty-password": lambda: encrypt_pdf(make_pdf(PAGES), "", algorithm="AES-256"),
}
READERS = {"pdfium": pdfium_pages, "pypdf": lambda data: pypdf_pages("r.pdf", data)}


@pytest.mark.parametrize("make", READABLE_PDFS.values(), ids=READABLE_PDFS.keys())
@pytest.mark.parametrize("read", READERS.values(), ids=READERS.keys())
def test_both_pdf_readers_give_the_same_pages(make, read) -> None:
    assert read(make()) == (PAGES, [])


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("one\r\ntwo\rthree", "one\ntwo\nthree"),
        ("man\ufffeagement", "man-\nagement"),
        ("x\x02ray", "x-ray"),
        ("page end\x00", "page end"),
        ("no\fpage\vbreak", "no\npage\nbreak"),
        ("tab\tkept\x01\x1f\x7f", "tab\tkept"),
    ],
    ids=["line-ends", "line-end-hyphen", "hyphen-code", "nul", "form-feed", "controls"],
)
def test_pdfium_text_reads_like_pypdf(raw: str, text: str) -> None:
    assert normalise_pdfium_text(raw) == text


def test_pdfs_load_from_several_threads_at_once() -> None:
    data = make_pdf(PAGES * 20, kerned=True)
    with ThreadPoolExecutor(max_workers=4) as pool:
        contexts = list(pool.map(lambda _: load_files([("r.pdf", data)]).context, range(8)))
    assert contexts == ["\f".join(PAGES * 20)] * 8


def test_corrupt_pdf_logs_no_pypdf_warnings(caplog: pytest.LogCaptureFixture) -> None:
    load_files([("broken.pdf", make_pdf(PAGES)[:200])])
    assert [r.name for r in caplog.records if r.name.startswith("pypdf")] == []


def test_pdf_detected_by_content_without_pdf_extension() -> None:
    corpus = load_files([("download", make_pdf(PAGES))])
    assert corpus.documents[0].kind == "pdf"


def test_text_extension_wins_over_pdf_header() -> None:
    corpus = load_files([("notes.txt", b"%PDF-1.4 is the header of a PDF")])
    assert corpus.documents[0].kind == "text"


# --- bad files: a clear problem, and the good file still loads ---------------------------------

BAD_FILES = {
    "encrypted": ("secret.pdf", lambda: encrypt_pdf(make_pdf(PAGES), "pw"), "password"),
    "aes-encrypted": (
        "secret.pdf",
        lambda: encrypt_pdf(make_pdf(PAGES), "pw", algorithm="AES-256"),
        "encrypted with a password",
    ),
    "corrupt": ("broken.pdf", lambda: make_pdf(PAGES)[:200], "not a readable PDF"),
    "not-a-pdf": ("fake.pdf", lambda: b"<html>error page</html>", "not a PDF"),
    "image-only": ("scan.pdf", lambda: make_pdf([None, None]), "OCR"),
    "empty": ("empty.txt", lambda: b"", "is empty"),
    "empty-pdf": ("empty.pdf", lambda: b"", "is empty"),
}


@pytest.mark.parametrize("case", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_file_is_a_problem_and_the_rest_loads(tmp_path: Path, case: tuple) -> None:
    name, make, phrase = case
    good = write(tmp_path / "good.txt", b"good")
    bad = write(tmp_path / name, make())
    corpus = load_paths([bad, good])
    assert corpus.context == "good"
    assert [(p.name, phrase in p.message) for p in corpus.problems] == [(str(bad), True)]


def test_missing_path_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    corpus = load_paths([tmp_path / "nope.txt", write(tmp_path / "a.txt", b"a")])
    assert (corpus.context, fatal_names(corpus)) == ("a", [str(tmp_path / "nope.txt")])


def test_problem_message_names_the_file(tmp_path: Path) -> None:
    corpus = load_files([("report.pdf", encrypt_pdf(make_pdf(PAGES), "pw"))])
    assert corpus.problems[0].message.startswith("report.pdf is encrypted")


# --- directories -------------------------------------------------------------------------------


def test_directory_files_are_sorted_by_path(tmp_path: Path) -> None:
    for rel in ["b.txt", "a/z.md", "a.txt", "a/b/c.txt", "c.pdf"]:
        data = make_pdf([rel]) if rel.endswith(".pdf") else rel.encode()
        write(tmp_path / "d" / rel, data)
    corpus = load_paths([tmp_path / "d"])
    assert [d.name for d in corpus.documents] == ["a/b/c.txt", "a/z.md", "a.txt", "b.txt", "c.pdf"]


def test_directory_skips_hidden_files_and_dirs(tmp_path: Path) -> None:
    write(tmp_path / "d" / ".hidden.txt", b"no")
    write(tmp_path / "d" / ".git" / "config", b"no")
    write(tmp_path / "d" / "seen.txt", b"yes")
    assert load_paths([tmp_path / "d"]).context == "yes"


def test_directory_reads_extensionless_text_and_notes_binaries(tmp_path: Path) -> None:
    write(tmp_path / "d" / "README", b"readme")
    write(tmp_path / "d" / "program", b"\x7fELF\x00\x00")
    corpus = load_paths([tmp_path / "d"])
    assert corpus.context == "readme"
    assert [(p.name, p.fatal) for p in corpus.problems] == [("program", False)]


def test_directory_skips_unknown_types_with_one_note(tmp_path: Path) -> None:
    write(tmp_path / "d" / "a.txt", b"a")
    for name in ["x.png", "y.png", "z.zip"]:
        write(tmp_path / "d" / name, b"\x89PNG\x00")
    corpus = load_paths([tmp_path / "d"])
    assert corpus.context == "a"
    assert [(p.fatal, ".png (2)" in p.message) for p in corpus.problems] == [(False, True)]


def test_directory_with_nothing_to_load_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    corpus = load_paths([tmp_path / "d"])
    assert (corpus.documents, fatal_names(corpus)) == ((), [str(tmp_path / "d")])


def test_single_path_string_is_accepted(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", b"a")
    assert load_paths(str(tmp_path / "a.txt")).context == "a"


def test_paths_keep_the_order_given(tmp_path: Path) -> None:
    b = write(tmp_path / "b.txt", b"b")
    a = write(tmp_path / "a.txt", b"a")
    assert load_paths([b, a]).context == ["b", "a"]


# --- context, uploads, metadata ----------------------------------------------------------------


def test_one_document_gives_str_context(tmp_path: Path) -> None:
    assert load_paths([write(tmp_path / "a.txt", b"a")]).context == "a"


def test_several_documents_give_list_context() -> None:
    corpus = load_files([("a.txt", b"a"), ("b.pdf", make_pdf(["b"]))])
    assert corpus.context == ["a", "b"]


def test_uploads_keep_names_and_text() -> None:
    corpus = load_files([("notes.md", b"# hi"), ("r.pdf", make_pdf(PAGES))])
    assert [(d.name, d.kind, d.chars) for d in corpus.documents] == [
        ("notes.md", "text", 4),
        ("r.pdf", "pdf", len("\f".join(PAGES))),
    ]


def test_totals_and_estimated_tokens() -> None:
    corpus = load_files([("a.txt", b"x" * 10), ("b.txt", b"y" * 30)])
    assert (corpus.total_chars, corpus.estimated_tokens()) == (40, 10)


def test_progress_reports_each_file(tmp_path: Path) -> None:
    seen: list[tuple[int, int, str]] = []
    load_files([("a.txt", b"a"), ("b.txt", b"")], on_progress=lambda *a: seen.append(a))
    assert seen == [(1, 2, "a.txt"), (2, 2, "b.txt")]


@pytest.mark.parametrize("call", [lambda: load_paths([]), lambda: load_files([])])
def test_nothing_given_raises(call) -> None:
    with pytest.raises(CorpusError):
        call()


def test_malformed_upload_raises() -> None:
    with pytest.raises(CorpusError):
        load_files([("a.txt", "not bytes")])  # type: ignore[list-item]


def test_require_documents_lists_the_problems() -> None:
    corpus = load_files([("e.txt", b"")])
    with pytest.raises(CorpusError, match=r"e\.txt is empty"):
        corpus.require_documents()


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ("abc", {"type": "str", "total_chars": 3, "n_documents": 1, "document_lengths": [3]}),
        (
            ["ab", "cdef"],
            {"type": "list[str]", "total_chars": 6, "n_documents": 2, "document_lengths": [2, 4]},
        ),
    ],
    ids=["str", "list"],
)
def test_context_metadata_shape(context, expected) -> None:
    assert context_metadata(context) == expected


def test_context_metadata_summarises_thousands_without_content() -> None:
    context = [f"secret-{i:05d}" for i in range(5000)]
    meta = context_metadata(context)
    assert (len(meta["document_lengths"]), meta["document_lengths_omitted"]) == (100, 4900)
    assert meta["document_lengths_summary"] == {"min": 12, "median": 12, "mean": 12, "max": 12}
    assert "secret" not in repr(meta)


def test_context_metadata_rejects_other_types() -> None:
    with pytest.raises(CorpusError):
        context_metadata([1, 2])  # type: ignore[list-item]
