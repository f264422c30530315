"""m006_drop_code_blocks: the `code_blocks` table goes. Nothing read it: a run's code blocks are
read from its events (the `events` table keeps every CodeExecuted whole) by the engine's one fold,
rlm_engine.trace. Iterations and sub-calls stay: the usage per model is summed from them.

A downgrade brings the table back empty (runs recorded meanwhile keep their blocks in `events`).

Revision ID: m006_drop_code_blocks
Revises: m005_run_marks
"""

import sqlalchemy as sa
from alembic import op

revision = "m006_drop_code_blocks"
down_revision = "m005_run_marks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_code_blocks_run_id", "code_blocks")
    op.drop_table("code_blocks")


def downgrade() -> None:
    op.create_table(
        "code_blocks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
        ),
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
