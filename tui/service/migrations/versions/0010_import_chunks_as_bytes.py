"""import_chunks.rows as bytes: a chunk is kept as CSV, which may hold any character

A chunk was a JSON document, in which a NUL is written \u0000; as CSV it is the character
itself, which PostgreSQL's text refuses (a row with one is a row error, reported at the commit).
Chunks are a staging area: those of imports still open are converted (an earlier Roster's JSON
is still read); a downgrade drops them, as the earlier Roster cannot read CSV.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("import_chunks") as batch_op:
        batch_op.alter_column(
            "rows",
            type_=sa.LargeBinary(),
            existing_type=sa.Text(),
            existing_nullable=False,
            postgresql_using="convert_to(rows, 'UTF8')",
        )


def downgrade() -> None:
    op.execute("DELETE FROM import_chunks")
    with op.batch_alter_table("import_chunks") as batch_op:
        batch_op.alter_column(
            "rows",
            type_=sa.Text(),
            existing_type=sa.LargeBinary(),
            existing_nullable=False,
            postgresql_using="convert_from(rows, 'UTF8')",
        )
