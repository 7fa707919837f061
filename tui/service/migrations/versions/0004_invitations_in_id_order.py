"""invitations (program_id, id): a program's invitations walked in id order, with no sort

Listings are ordered by id. With only (program_id, status), a million-invitation program was
sorted in full before its first line could stream.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_invitations_program_id", "invitations", ["program_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_invitations_program_id", table_name="invitations")
