"""The organization's life after the invitation: members removed, contracts and programs
archived, an invitation policy per organization, admin roles and program scopes, reminders
that say so, and the audit record.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organizations") as batch_op:
        batch_op.add_column(
            sa.Column("invitation_lifetime_days", sa.Integer(), nullable=False, server_default="30")
        )
        batch_op.add_column(sa.Column("remind_after_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("audit_head", sa.String(64), nullable=True))
        batch_op.add_column(
            sa.Column("audit_count", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("admins") as batch_op:
        batch_op.add_column(
            sa.Column("role", sa.String(16), nullable=False, server_default="owner")
        )
        batch_op.add_column(sa.Column("removed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("token_rotated_at", sa.DateTime(), nullable=True))
    op.create_table(
        "admin_programs",
        sa.Column("admin_id", sa.Integer(), sa.ForeignKey("admins.id"), primary_key=True),
        sa.Column("program_id", sa.Integer(), sa.ForeignKey("programs.id"), primary_key=True),
    )
    for table in ("programs", "contracts"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("archived_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("invitations") as batch_op:
        batch_op.add_column(sa.Column("removed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("removed_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("reminded_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(16), nullable=False, server_default="invitation")
        )
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "organization_id", sa.Integer(), sa.ForeignKey("organizations.id"), nullable=False
        ),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("admin_id", sa.Integer(), sa.ForeignKey("admins.id"), nullable=True),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=True),
        sa.Column("contract_id", sa.Integer(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("learners", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("organization_id", "seq"),
    )
    op.create_index("ix_audit_entries_at", "audit_entries", ["organization_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_entries_at", table_name="audit_entries")
    op.drop_table("audit_entries")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("kind")
    with op.batch_alter_table("invitations") as batch_op:
        for column in ("reminded_at", "removed_reason", "removed_at"):
            batch_op.drop_column(column)
    for table in ("contracts", "programs"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("archived_at")
    op.drop_table("admin_programs")
    with op.batch_alter_table("admins") as batch_op:
        for column in ("token_rotated_at", "removed_at", "role"):
            batch_op.drop_column(column)
    with op.batch_alter_table("organizations") as batch_op:
        for column in (
            "audit_count",
            "audit_head",
            "remind_after_days",
            "invitation_lifetime_days",
        ):
            batch_op.drop_column(column)
