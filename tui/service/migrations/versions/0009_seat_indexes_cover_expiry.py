"""invitations' (program, status) and (contract, status) indexes also hold expires_at

Whether an invitation holds a seat depends on its expiry as well as its status. With the expiry
in the index, counting a contract's seats, a program's members and the statuses a dry run
checks against read the index alone: at a million invitations, the seat count went from 0.35 s
to 0.13 s and a program's statuses from 0.82 s to 0.48 s (SQLite).

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_invitations_program_status", table_name="invitations")
    op.drop_index("ix_invitations_contract_status", table_name="invitations")
    op.create_index(
        "ix_invitations_program_seats",
        "invitations",
        ["program_id", "status", "expires_at", "learner_id"],
    )
    op.create_index(
        "ix_invitations_contract_seats", "invitations", ["contract_id", "status", "expires_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_invitations_contract_seats", table_name="invitations")
    op.drop_index("ix_invitations_program_seats", table_name="invitations")
    op.create_index("ix_invitations_contract_status", "invitations", ["contract_id", "status"])
    op.create_index("ix_invitations_program_status", "invitations", ["program_id", "status"])
