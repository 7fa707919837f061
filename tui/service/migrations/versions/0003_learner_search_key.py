"""learners.search_key: name, email and External ID without accents or case, for the Users search

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from tui.text import learner_search_key

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BATCH = 10_000


def upgrade() -> None:
    with op.batch_alter_table("learners") as batch_op:
        batch_op.add_column(sa.Column("search_key", sa.Text(), nullable=False, server_default=""))
    connection = op.get_bind()
    learners = sa.table(
        "learners",
        sa.column("id", sa.Integer()),
        sa.column("full_name", sa.String()),
        sa.column("email", sa.String()),
        sa.column("external_id", sa.String()),
        sa.column("search_key", sa.Text()),
    )
    last = 0
    while True:  # in batches: a million learners never sit in memory at once
        rows = connection.execute(
            sa.select(learners.c.id, learners.c.full_name, learners.c.email, learners.c.external_id)
            .where(learners.c.id > last)
            .order_by(learners.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            learners.update()
            .where(learners.c.id == sa.bindparam("learner_id"))
            .values(search_key=sa.bindparam("key")),
            [
                {"learner_id": id_, "key": learner_search_key(name, email, external_id)}
                for id_, name, email, external_id in rows
            ],
        )
        last = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("learners") as batch_op:
        batch_op.drop_column("search_key")
