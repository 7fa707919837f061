"""imports.warnings, rows_left_out: an import counts its rows as the preview did

`warnings` is the invited rows with a warning; `rows_left_out` the rows the admin left out of
the import on the preview, which were never sent (tui.intake.counts).

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "imports", sa.Column("warnings", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column(
        "imports", sa.Column("rows_left_out", sa.Integer(), nullable=False, server_default="0")
    )


def downgrade() -> None:
    with op.batch_alter_table("imports") as batch_op:
        batch_op.drop_column("rows_left_out")
        batch_op.drop_column("warnings")
