"""imports.invited_rows: the file's row numbers of the rows an import invited, as runs

An import's results (one line per row of its file, with its outcome) are rebuilt from its
issues, its left-out rows and its invitations; only which row each invitation came from was
not kept once the commit dropped the import's chunks.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("imports", sa.Column("invited_rows", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("imports") as batch_op:
        batch_op.drop_column("invited_rows")
