"""an index of the pending invitations not yet reminded, for the automatic reminder's scan

The outbox sender looks for invitations due a reminder every minute. The index holds only the
pending invitations never reminded, by organization and when their email was sent, so the scan
reads the few that are due rather than every invitation of the organization.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_NOT_REMINDED = "status = 'pending' AND reminded_at IS NULL"


def upgrade() -> None:
    op.create_index(
        "ix_invitations_to_remind",
        "invitations",
        ["organization_id", "email_sent_at"],
        sqlite_where=sa.text(_NOT_REMINDED),
        postgresql_where=sa.text(_NOT_REMINDED),
    )


def downgrade() -> None:
    op.drop_index("ix_invitations_to_remind", table_name="invitations")
