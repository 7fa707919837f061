"""messages: an admin's own words for an import's or one invite's emails; organizations'
sender names

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    # Added in place, never by copying a table: invitations may hold millions of rows.
    op.add_column("organizations", sa.Column("sender_name", sa.String(length=200), nullable=True))
    for table in ("invitations", "imports"):
        # Both databases add a nullable column with its reference this way, without a copy.
        op.execute(f"ALTER TABLE {table} ADD COLUMN message_id INTEGER REFERENCES messages (id)")


def downgrade() -> None:
    for table in ("imports", "invitations"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("message_id")
    with op.batch_alter_table("organizations") as batch_op:
        batch_op.drop_column("sender_name")
    op.drop_table("messages")
