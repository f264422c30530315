"""m001_initial: corpora, documents, comparisons, runs and their trace.

Revision ID: m001_initial
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "m001_initial"
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _run_id() -> sa.Column:
    return sa.Column(
        "run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "corpora",
        _id(),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "documents",
        _id(),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("chars", sa.Integer(), nullable=False),
        sa.Column("n_pages", sa.Integer(), nullable=False),
        sa.Column("page_offsets", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "corpus_documents",
        sa.Column(
            "corpus_id",
            sa.Integer(),
            sa.ForeignKey("corpora.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("documents.id"), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
    )
    op.create_index("ix_corpus_documents_document_id", "corpus_documents", ["document_id"])
    op.create_table(
        "comparisons",
        _id(),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column(
            "corpus_id", sa.Integer(), sa.ForeignKey("corpora.id", ondelete="SET NULL")
        ),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("corpus_id", sa.Integer(), sa.ForeignKey("corpora.id", ondelete="SET NULL")),
        sa.Column(
            "comparison_id", sa.Integer(), sa.ForeignKey("comparisons.id", ondelete="SET NULL")
        ),
        sa.Column("label", sa.String(200)),
        sa.Column("root_provider", sa.String(50), nullable=False),
        sa.Column("root_model", sa.String(200), nullable=False),
        sa.Column("sub_provider", sa.String(50)),
        sa.Column("sub_model", sa.String(200)),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("context_meta", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("answer", sa.Text()),
        sa.Column("error", sa.Text()),
        sa.Column("iterations", sa.Integer(), nullable=False),
        sa.Column("sub_calls", sa.Integer(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float()),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.Float()),
        sa.Column("elapsed_s", sa.Float()),
        sa.Column("last_event_at", sa.Float(), nullable=False),
        sa.Column("writer", sa.String(200)),
    )
    for column in ("corpus_id", "comparison_id", "root_model", "status", "started_at"):
        op.create_index(f"ix_runs_{column}", "runs", [column])
    op.create_table(
        "events",
        _id(),
        _run_id(),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("time", sa.Float(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_index("ix_events_run_seq", "events", ["run_id", "seq"], unique=True)
    op.create_table(
        "iterations",
        _id(),
        _run_id(),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("parent_call_id", sa.String(64)),
        sa.Column("iteration", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float()),
        sa.Column("elapsed_s", sa.Float(), nullable=False),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("time", sa.Float(), nullable=False),
    )
    op.create_index("ix_iterations_run_id", "iterations", ["run_id"])
    op.create_table(
        "code_blocks",
        _id(),
        _run_id(),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("parent_call_id", sa.String(64)),
        sa.Column("iteration", sa.Integer(), nullable=False),
        sa.Column("block_index", sa.Integer(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("output", sa.Text(), nullable=False),
        sa.Column("output_chars", sa.Integer(), nullable=False),
        sa.Column("elapsed_s", sa.Float(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("restarted", sa.Boolean(), nullable=False),
        sa.Column("time", sa.Float(), nullable=False),
    )
    op.create_index("ix_code_blocks_run_id", "code_blocks", ["run_id"])
    op.create_table(
        "sub_calls",
        _id(),
        _run_id(),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("parent_call_id", sa.String(64)),
        sa.Column("iteration", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("response", sa.Text()),
        sa.Column("error", sa.Text()),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float()),
        sa.Column("elapsed_s", sa.Float()),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.Float()),
    )
    op.create_index("ix_sub_calls_run_call", "sub_calls", ["run_id", "call_id"])


def downgrade() -> None:
    for table in (
        "sub_calls",
        "code_blocks",
        "iterations",
        "events",
        "runs",
        "comparisons",
        "corpus_documents",
        "documents",
        "corpora",
    ):
        op.drop_table(table)
