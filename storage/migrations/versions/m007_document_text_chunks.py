"""m007_document_text_chunks: a document's text is kept in pieces of at most 1 Mi characters
(`document_text_chunks`, in order) instead of one `documents.text` value. Writing a 40 MB text as
one value had SQLite copy it whole (twice, while it built the record) and keep the copy in its
statement cache for the connection's life.

The upgrade moves each stored text into its pieces, one document at a time, and empties
`documents.text`, which stays ("" from now on): SQLite before 3.35 cannot drop a column in place,
and rebuilding `documents` inside this transaction (foreign keys on) would cascade the old
table's deletion to the pieces and the PDF files. The downgrade joins the pieces back into it.

Revision ID: m007_document_text_chunks
Revises: m006_drop_code_blocks
"""

import sqlalchemy as sa
from alembic import op

revision = "m007_document_text_chunks"
down_revision = "m006_drop_code_blocks"
branch_labels = None
depends_on = None

CHUNK_CHARS = 1 << 20  # as storage.corpora.CHUNK_CHARS when this revision was written

documents = sa.table("documents", sa.column("id", sa.Integer), sa.column("text", sa.Text))
chunks = sa.table(
    "document_text_chunks",
    sa.column("document_id", sa.Integer),
    sa.column("seq", sa.Integer),
    sa.column("text", sa.Text),
)


def upgrade() -> None:
    op.create_table(
        "document_text_chunks",
        sa.Column(
            "document_id",
            sa.Integer(),
            sa.ForeignKey("documents.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("text", sa.Text(), nullable=False),
    )
    connection = op.get_bind()
    ids = connection.execute(sa.select(documents.c.id).order_by(documents.c.id)).scalars().all()
    for document_id in ids:  # one text in memory at a time
        text = connection.execute(
            sa.select(documents.c.text).where(documents.c.id == document_id)
        ).scalar_one()
        for seq, start in enumerate(range(0, len(text), CHUNK_CHARS)):
            connection.execute(
                chunks.insert().values(
                    document_id=document_id, seq=seq, text=text[start : start + CHUNK_CHARS]
                )
            )
        connection.execute(documents.update().where(documents.c.id == document_id).values(text=""))


def downgrade() -> None:
    connection = op.get_bind()
    ids = connection.execute(sa.select(documents.c.id).order_by(documents.c.id)).scalars().all()
    for document_id in ids:
        pieces = connection.execute(
            sa.select(chunks.c.text)
            .where(chunks.c.document_id == document_id)
            .order_by(chunks.c.seq)
        ).scalars()
        connection.execute(
            documents.update().where(documents.c.id == document_id).values(text="".join(pieces))
        )
    op.drop_table("document_text_chunks")
