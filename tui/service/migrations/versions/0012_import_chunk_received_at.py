"""import_chunks.received_at: when each chunk came, so an import whose client died is abandoned

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("import_chunks", sa.Column("received_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("import_chunks") as batch_op:
        batch_op.drop_column("received_at")
