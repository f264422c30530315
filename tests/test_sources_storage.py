"""Sources and passages stored with the run: recorded from a real run, exported and imported,
and a database made before them migrated in place."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from rlm_engine import Credentials, Session
from rlm_engine.corpus import load_files
from rlm_engine.events import Event, SourcesFound
from rlm_testkit.pdf import make_pdf
from rlm_testkit.standin import StandIn
from storage import Database
from storage.connect import _alembic_config
from tests.test_sources_loop import config, repl

PAGES = [
    "Quarterly report of the harbour office.\nNothing of note happened in this quarter.",
    "Shipping ledger for the spring season.\nInvoice 99812 was paid on 3 March 2027 by Acme Corp.",
]


def recorded_run(db: Database, standin: StandIn) -> tuple[str, SourcesFound]:
    corpus = load_files([("ledger.pdf", make_pdf(PAGES)), ("notes.txt", b"Plain notes only.")])
    saved = db.save_corpus("ledger", list(corpus.documents))
    standin.enqueue(
        repl(
            "d = context[0]\ni = d.index('Invoice')\nprint(d[i - 30 : i + 60])\n"
            "FINAL('Acme Corp paid it.', sources=[d[i : i + 40]])"
        ),
        model="root-model",
    )
    recorder = db.recorder(corpus_id=saved.id)
    events: list[Event] = []

    def on_event(event: Event) -> None:
        events.append(event)
        recorder(event)

    with Session(corpus.context, Credentials.from_env(), documents=corpus.documents) as session:
        result = session.run("Who paid invoice 99812?", config(), on_event=on_event)
    (found,) = [e for e in events if isinstance(e, SourcesFound)]
    return result.run_id, found


def test_sources_round_trip_through_storage_export_and_import(
    db_url: str, standin_env: StandIn, tmp_path
) -> None:
    with Database.open(db_url) as db:
        run_id, found = recorded_run(db, standin_env)
        stored = db.run_sources(run_id)
        assert [
            {k: s[k] for k in ("document", "document_index", "page", "start", "end", "text")}
            for s in stored
        ] == found.sources
        assert stored[0]["cited"] and stored[0]["page"] == 2 and stored[0]["rank"] == 1
        assert stored[0]["text"].startswith("Invoice 99812")
        passages = db.run_passages(run_id)
        assert passages and passages[0]["origin"] == "code" and passages[0]["page"] == 2
        # the PDF itself is kept, to show the page
        run = db.get_run(run_id)
        document = db.corpus_document(run.corpus_id, 0)
        assert document["data"].startswith(b"%PDF-") and document["kind"] == "pdf"
        assert document["text"][stored[0]["start"] : stored[0]["end"]] == stored[0]["text"]
        assert db.corpus_document(run.corpus_id, 1)["data"] is None
        exported = db.export_run(run_id)
    with Database.open(f"sqlite:///{tmp_path / 'other.db'}") as other:
        imported = other.import_run(exported)
        assert other.run_sources(imported) == stored
        assert len(other.run_passages(imported)) == len(passages)


def test_a_database_made_before_sources_is_migrated(tmp_path, standin_env: StandIn) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "m002_evaluations")
        connection.execute(
            sa.text(
                "INSERT INTO runs (id, question, root_provider, root_model, config, context_meta,"
                " status, iterations, sub_calls, input_tokens, output_tokens, started_at,"
                " last_event_at) VALUES ('old-run', 'Old?', 'openai', 'm', '{}', '{}',"
                " 'completed', 1, 0, 0, 0, 1.0, 1.0)"
            )
        )
    engine.dispose()
    with Database.open(url) as db:
        assert db.get_run("old-run").question == "Old?"
        assert db.run_sources("old-run") == [] and db.run_passages("old-run") == []
        run_id, found = recorded_run(db, standin_env)
        assert len(db.run_sources(run_id)) == len(found.sources) >= 1
