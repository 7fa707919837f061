"""learners.search_key again for the names holding ø, ł, æ, đ and the like: search now folds
these letters (tui.text.fold), so `soren` finds Søren.

Only the learners whose stored key still holds one of them are read and written, in batches.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

from tui.text import UNFOLDED_LETTERS, fold

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_BATCH = 5000


def upgrade() -> None:
    connection = op.get_bind()
    learners = sa.table(
        "learners",
        sa.column("id", sa.Integer),
        sa.column("full_name", sa.String),
        sa.column("email", sa.String),
        sa.column("external_id", sa.String),
        sa.column("search_key", sa.Text),
    )
    holds = sa.or_(*(learners.c.search_key.contains(letter) for letter in UNFOLDED_LETTERS))
    last = 0
    while True:
        rows = connection.execute(
            sa.select(learners.c.id, learners.c.search_key)
            .where(holds, learners.c.id > last)
            .order_by(learners.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            learners.update()
            .where(learners.c.id == sa.bindparam("learner_id"))
            .values(search_key=sa.bindparam("key")),
            [{"learner_id": row.id, "key": fold(row.search_key)} for row in rows],
        )
        last = rows[-1].id


def downgrade() -> None:
    pass  # the keys folded further find everything they found before
