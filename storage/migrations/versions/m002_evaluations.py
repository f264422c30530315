"""m002_evaluations: question sets, evaluations and their cells.

Revision ID: m002_evaluations
Revises: m001_initial
"""

import sqlalchemy as sa
from alembic import op

revision = "m002_evaluations"
down_revision = "m001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "eval_sets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "evaluations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column(
            "set_id", sa.Integer(), sa.ForeignKey("eval_sets.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column(
            "corpus_id", sa.Integer(), sa.ForeignKey("corpora.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("configs", sa.JSON(), nullable=False),
        sa.Column("judge", sa.JSON(), nullable=True),
        sa.Column("parallel", sa.Integer(), nullable=False),
        sa.Column("repeat", sa.Integer(), nullable=False),
        sa.Column("max_cost_usd", sa.Float(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.Column("elapsed_s", sa.Float(), nullable=False),
        sa.Column("writer", sa.String(200), nullable=True),
    )
    op.create_index("ix_evaluations_status", "evaluations", ["status"])
    op.create_index("ix_evaluations_created_at", "evaluations", ["created_at"])
    op.create_table(
        "eval_cells",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "evaluation_id",
            sa.String(64),
            sa.ForeignKey("evaluations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("question_id", sa.String(200), nullable=False),
        sa.Column("config_name", sa.String(200), nullable=False),
        sa.Column("repeat", sa.Integer(), nullable=False),
        sa.Column(
            "run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("grade", sa.JSON(), nullable=False),
        sa.Column("iterations", sa.Integer(), nullable=False),
        sa.Column("sub_calls", sa.Integer(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("elapsed_s", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.Float(), nullable=False),
    )
    op.create_index(
        "ix_eval_cells_cell",
        "eval_cells",
        ["evaluation_id", "question_id", "config_name", "repeat"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_table("eval_cells")
    op.drop_table("evaluations")
    op.drop_table("eval_sets")
