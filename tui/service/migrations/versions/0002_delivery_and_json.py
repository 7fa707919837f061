"""delivery state per invitation, outbox leases and retry window, import follow-ups, JSON columns

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invitations") as batch_op:
        batch_op.add_column(
            sa.Column("email_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("email_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("email_next_attempt_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("email_sent_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("queued_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=120), nullable=True))
    op.execute("UPDATE outbox SET queued_at = next_attempt_at")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.alter_column("queued_at", existing_type=sa.DateTime(), nullable=False)
    op.execute(
        "UPDATE invitations SET email_sent_at = (SELECT MAX(o.sent_at) FROM outbox o "
        "WHERE o.invitation_id = invitations.id)"
    )
    op.create_table(
        "import_followups",
        sa.Column("import_id", sa.Integer(), sa.ForeignKey("imports.id"), nullable=False),
        sa.Column("invitation_id", sa.Integer(), sa.ForeignKey("invitations.id"), nullable=False),
        sa.PrimaryKeyConstraint("import_id", "invitation_id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # SQLite keeps JSON as text whatever the column's declared type.
        for column in ("skipped", "issues"):
            op.execute(f"ALTER TABLE imports ALTER COLUMN {column} TYPE JSON USING {column}::json")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column in ("skipped", "issues"):
            op.execute(f"ALTER TABLE imports ALTER COLUMN {column} TYPE TEXT USING {column}::text")
    op.drop_table("import_followups")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("queued_at")
    with op.batch_alter_table("invitations") as batch_op:
        batch_op.drop_column("email_sent_at")
        batch_op.drop_column("email_next_attempt_at")
        batch_op.drop_column("email_error")
        batch_op.drop_column("email_attempts")
