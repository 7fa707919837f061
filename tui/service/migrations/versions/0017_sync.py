"""imports.mode, remove_missing, max_removals, email_updated, sync_counts: a sync's import

A sync is an import whose commit makes the program's learners match its file: the new are
invited, the changed updated, and with `remove_missing` the members and pending invitations not
in the file removed, at most `max_removals` of them past the share the service allows. What it
did is kept in `sync_counts`.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "imports", sa.Column("mode", sa.String(8), nullable=False, server_default="import")
    )
    op.add_column(
        "imports",
        sa.Column("remove_missing", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("imports", sa.Column("max_removals", sa.Integer(), nullable=True))
    op.add_column(
        "imports",
        sa.Column("email_updated", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("imports", sa.Column("sync_counts", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("imports") as batch_op:
        batch_op.drop_column("sync_counts")
        batch_op.drop_column("email_updated")
        batch_op.drop_column("max_removals")
        batch_op.drop_column("remove_missing")
        batch_op.drop_column("mode")
