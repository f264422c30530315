"""m004_sub_call_cache: answers of sub-calls, for the opt-in sub-call cache.

Revision ID: m004_sub_call_cache
Revises: m003_sources
"""

import sqlalchemy as sa
from alembic import op

revision = "m004_sub_call_cache"
down_revision = "m003_sources"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sub_call_cache",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("model", sa.String(300), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sub_call_cache")
