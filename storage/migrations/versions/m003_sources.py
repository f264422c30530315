"""m003_sources: the sources of a run's answer, the passages its trace held, PDF bytes.

Runs recorded before have no sources (their events hold none): nothing to fill in.

Revision ID: m003_sources
Revises: m002_evaluations
"""

import sqlalchemy as sa
from alembic import op

revision = "m003_sources"
down_revision = "m002_evaluations"
branch_labels = None
depends_on = None


def _run_id() -> sa.Column:
    return sa.Column(
        "run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
    )


def _place() -> list[sa.Column]:
    return [
        sa.Column("document", sa.String(500), nullable=False),
        sa.Column("document_index", sa.Integer(), nullable=False),
        sa.Column("page", sa.Integer(), nullable=True),
        sa.Column("start_char", sa.Integer(), nullable=False),
        sa.Column("end_char", sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "run_sources",
        sa.Column("id", sa.Integer(), primary_key=True),
        _run_id(),
        sa.Column("rank", sa.Integer(), nullable=False),
        *_place(),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("cited", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_run_sources_run_id", "run_sources", ["run_id"])
    op.create_table(
        "run_passages",
        sa.Column("id", sa.Integer(), primary_key=True),
        _run_id(),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("parent_call_id", sa.String(64), nullable=True),
        sa.Column("origin", sa.String(20), nullable=False),
        sa.Column("iteration", sa.Integer(), nullable=False),
        sa.Column("block_index", sa.Integer(), nullable=True),
        sa.Column("call_id", sa.String(64), nullable=True),
        *_place(),
    )
    op.create_index("ix_run_passages_run_id", "run_passages", ["run_id"])
    op.create_table(
        "document_files",
        sa.Column(
            "document_id",
            sa.Integer(),
            sa.ForeignKey("documents.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("document_files")
    op.drop_index("ix_run_passages_run_id", "run_passages")
    op.drop_table("run_passages")
    op.drop_index("ix_run_sources_run_id", "run_sources")
    op.drop_table("run_sources")
