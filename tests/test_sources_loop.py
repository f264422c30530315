"""Sources in a real run: real sandbox, real SDKs, real HTTP to the stand-in."""

from __future__ import annotations

from rlm_engine import Budgets, Credentials, ModelSpec, RunConfig, Session
from rlm_engine.events import (
    CitationChecked,
    CodeExecuted,
    Event,
    PassagesFound,
    RunFinished,
    SourcesFound,
    SubCallStarted,
)
from rlm_engine.sources import NO_SOURCE
from rlm_testkit.prose import prose
from rlm_testkit.standin import StandIn
from tests.test_sources_match import FACT, NEEDLE

ROOT, SUB = "root-model", "sub-model"


def config() -> RunConfig:
    return RunConfig(
        root=ModelSpec("openai", ROOT),
        sub=ModelSpec("openai", SUB),
        exec_timeout_s=20.0,
        budgets=Budgets(max_depth=2),
    )


def repl(code: str) -> str:
    return f"Let me look.\n```repl\n{code}\n```"


class Doc:
    def __init__(self, name: str, page_offsets: tuple[int, ...] = ()) -> None:
        self.name, self.page_offsets = name, page_offsets


def corpus() -> tuple[list[str], list[Doc]]:
    notes = prose(20_000, 11) + NEEDLE + "\n" + prose(20_000, 12)
    pages = [prose(2000, 13), prose(800, 14) + FACT + "\n" + prose(900, 15)]
    pdf = "\f".join(pages)
    return [notes, pdf], [Doc("notes.txt"), Doc("report.pdf", (0, len(pages[0]) + 1))]


def ask(question: str) -> tuple[list[Event], list[str]]:
    context, docs = corpus()
    events: list[Event] = []
    with Session(context, Credentials.from_env(), documents=docs) as session:
        session.run(question, config(), on_event=events.append)
    return events, context


def of(events: list[Event], cls: type) -> list:
    return [e for e in events if isinstance(e, cls)]


SEARCH = (
    "import re\n"
    "for i, d in enumerate(context):\n"
    "    for m in re.finditer(r'vault|Invoice', d):\n"
    "        print(i, repr(d[m.start() - 150 : m.end() + 150]))"
)


def test_passages_of_outputs_and_prompts_and_the_answer_sources(standin_env: StandIn) -> None:
    standin_env.on(lambda req: "It says the code is 4417.", model=SUB)
    standin_env.enqueue(
        repl(SEARCH),
        repl(
            "d = context[0]\ni = d.index('Lisbon')\n"
            "print(llm_query('Which code? ' + d[i-900:i+300]))"
        ),
        "FINAL(The code is 4417.)",
        model=ROOT,
    )
    events, context = ask("What is the vault code?")
    found = of(events, PassagesFound)
    code = [f for f in found if f.origin == "code"]
    calls = [f for f in found if f.origin == "sub_call"]
    assert code and calls
    # each PassagesFound comes after the event it describes
    for f in found:
        described = [
            e
            for e in events[: events.index(f)]
            if (
                isinstance(e, CodeExecuted)
                and f.origin == "code"
                and e.block_index == f.block_index
            )
            or (isinstance(e, SubCallStarted) and e.call_id == f.call_id)
        ]
        assert described
    for f in found:
        for p in f.passages:
            assert context[p["document_index"]][p["start"] : p["end"]] == p["text"]
    pdf_hits = [p for p in code[0].passages if p["document"] == "report.pdf"]
    assert pdf_hits and all(p["page"] == 2 for p in pdf_hits)
    (sources,) = of(events, SourcesFound)
    assert events[-1].type == "run_finished" and events[-2] is sources
    assert sources.sources and "4417" in sources.sources[0]["text"]
    assert sources.sources[0]["document"] == "notes.txt" and sources.cited == 0
    assert all("Invoice" not in s["text"] for s in sources.sources)


def test_explicit_citation_comes_first(standin_env: StandIn) -> None:
    standin_env.enqueue(
        repl(SEARCH),
        repl(
            "d = context[1]\ni = d.index('Invoice')\n"
            "FINAL('Acme Corp paid invoice 99812.', sources=[d[i : i + 60]])"
        ),
        model=ROOT,
    )
    events, context = ask("Who paid invoice 99812?")
    (check,) = of(events, CitationChecked)
    assert check.accepted and check.passages[0]["page"] == 2
    (sources,) = of(events, SourcesFound)
    assert sources.cited == 1 and sources.rejected == 0
    first = sources.sources[0]
    assert first["document"] == "report.pdf" and first["page"] == 2
    assert first["text"].startswith("Invoice 99812")
    assert context[1][first["start"] : first["end"]] == first["text"]


def test_fabricated_citation_is_dropped_and_flagged(standin_env: StandIn) -> None:
    standin_env.enqueue(
        repl(SEARCH),
        repl(
            "print(cite('The secret code for the Paris vault is 9999, said the clerk.'))\n"
            "FINAL('The code is 4417.')"
        ),
        model=ROOT,
    )
    events, _ = ask("What is the vault code?")
    (check,) = of(events, CitationChecked)
    assert not check.accepted and check.reason == "not found verbatim in the corpus"
    assert "Not cited" in of(events, CodeExecuted)[-1].output  # the model was told
    (sources,) = of(events, SourcesFound)
    assert sources.rejected == 1 and sources.cited == 0
    assert all("Paris" not in s["text"] for s in sources.sources)
    assert "4417" in sources.sources[0]["text"]  # the real passage still supports the answer


def test_an_unsupported_answer_has_no_source(standin_env: StandIn) -> None:
    standin_env.enqueue(repl("print(len(context))"), "FINAL(The code is 1234.)", model=ROOT)
    events, _ = ask("What is the vault code?")
    (sources,) = of(events, SourcesFound)
    assert sources.sources == [] and sources.answer == "The code is 1234."
    assert of(events, RunFinished)[-1].status == "completed"
    assert NO_SOURCE == "no passage of the corpus contains this answer"


def test_the_index_is_built_only_when_something_is_looked_up(standin_env: StandIn) -> None:
    """The index costs seconds and ~100 MB at 40M characters: an answer with nothing to look up,
    after no code, must not build it; the first output holding corpus text does."""
    context, docs = corpus()
    with Session(context, Credentials.from_env(), documents=docs) as session:
        standin_env.enqueue('FINAL("ok")', model=ROOT)
        session.run("Anything?", config())
        assert not session.index().built
        standin_env.enqueue(repl("print(context[0][:300])"), "FINAL(done)", model=ROOT)
        session.run("And now?", config())
        assert session.index().built


def test_passages_seen_by_a_child_rlm_count(standin_env: StandIn) -> None:
    standin_env.enqueue(
        repl(
            "d = context[0]\ni = d.index('Lisbon')\n"
            "print(rlm_query('Find the code', d[i-2000:i+500]))"
        ),
        "FINAL(4417)",
        model=ROOT,
    )
    standin_env.enqueue(
        repl("i = context.index('Lisbon')\nprint(context[i-100:i+100])"),
        "FINAL(4417)",
        model=SUB,
    )
    events, _ = ask("What is the vault code?")
    child = [f for f in of(events, PassagesFound) if f.depth == 1]
    assert child and child[0].origin == "code"
    (sources,) = of(events, SourcesFound)
    assert "4417" in sources.sources[0]["text"]
