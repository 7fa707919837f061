"""invitations.token_key: links are no longer stored, only what finds them (tui.service.links)

The bare tokens already emailed are replaced by their SHA-256, which still finds them.

Revision ID: 0006
Revises: 0005
"""

import hashlib

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def upgrade() -> None:
    # Both databases rename a column in place, keeping its unique constraint.
    op.execute("ALTER TABLE invitations RENAME COLUMN token TO token_key")
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(
            "UPDATE invitations "
            "SET token_key = encode(sha256(convert_to(token_key, 'UTF8')), 'hex')"
        )
    else:
        bind.connection.driver_connection.create_function(  # type: ignore[union-attr]
            "roster_sha256", 1, _sha256, deterministic=True
        )
        op.execute("UPDATE invitations SET token_key = roster_sha256(token_key)")


def downgrade() -> None:
    # The links already emailed cannot be written back: only their hashes were kept.
    op.execute("ALTER TABLE invitations RENAME COLUMN token_key TO token")
