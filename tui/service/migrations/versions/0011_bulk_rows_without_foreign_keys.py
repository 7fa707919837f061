"""PostgreSQL: no foreign keys on learners and invitations, the rows an import adds by millions

On PostgreSQL a foreign key is checked by a trigger per inserted row. An import of a million
learners checked the same organization a million times for its learners, and the same
organization, program, contract, import and message a million times each for its invitations,
and each invitation's learner: 27 s of the import's 45. Those rows are the ones the import
reads and locks in its own transaction, or the learners it has just added or read, and Roster
deletes no organization, program, contract, import, message or learner: Roster checks them
itself, once, not the database per row.

SQLite keeps them all: there a check costs a tenth as much, and dropping one copies the table.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# (table, column, referenced table)
REFERENCES = (
    ("learners", "organization_id", "organizations"),
    ("invitations", "organization_id", "organizations"),
    ("invitations", "program_id", "programs"),
    ("invitations", "contract_id", "contracts"),
    ("invitations", "import_id", "imports"),
    ("invitations", "message_id", "messages"),
    ("invitations", "learner_id", "learners"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, _ in REFERENCES:
        op.drop_constraint(f"{table}_{column}_fkey", table, type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, referenced in REFERENCES:
        op.create_foreign_key(f"{table}_{column}_fkey", table, referenced, [column], ["id"])
