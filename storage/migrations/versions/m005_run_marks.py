"""m005_run_marks: what a user adds to runs in History (a star, tags) and the conversation a run
belongs to (follow-ups of one Ask session share it).

Runs recorded before have no conversation: each stands alone.

Revision ID: m005_run_marks
Revises: m004_sub_call_cache
"""

import sqlalchemy as sa
from alembic import op

revision = "m005_run_marks"
down_revision = "m004_sub_call_cache"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(
            sa.Column("starred", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("conversation_id", sa.String(64), nullable=True))
        batch.create_index("ix_runs_conversation_id", ["conversation_id"])
    op.create_table(
        "run_tags",
        sa.Column(
            "run_id",
            sa.String(64),
            sa.ForeignKey("runs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("tag", sa.String(100), primary_key=True),
    )
    op.create_index("ix_run_tags_tag", "run_tags", ["tag"])


def downgrade() -> None:
    op.drop_index("ix_run_tags_tag", "run_tags")
    op.drop_table("run_tags")
    with op.batch_alter_table("runs") as batch:
        batch.drop_index("ix_runs_conversation_id")
        batch.drop_column("conversation_id")
        batch.drop_column("starred")
