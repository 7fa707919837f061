"""learners.search_key again where it was made from another name than the learner's

A stored learner invited again without update_learners keeps its Full Name; when the file also
gave it the External ID it lacked, its search key was made from the file's name instead of its
own, so the search no longer found it by its own name. Every key that is not the one its
learner's stored values give (tui.text.learner_search_key, made for a batch at once as an
import makes them) is made again, in batches.

Revision ID: 0019
Revises: 0018
"""

import polars as pl
import sqlalchemy as sa
from alembic import op

from tui.service.invitations import search_keys

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_BATCH = 50_000


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
    read = sa.select(
        learners.c.id,
        learners.c.full_name,
        learners.c.email,
        learners.c.external_id,
        learners.c.search_key,
    ).order_by(learners.c.id)
    last = 0
    while True:
        rows = connection.execute(read.where(learners.c.id > last).limit(_BATCH)).all()
        if not rows:
            break
        frame = pl.DataFrame(
            rows,
            schema={
                "id": pl.Int64,
                "full_name": pl.String,
                "email": pl.String,
                "external_id": pl.String,
                "search_key": pl.String,
            },
            orient="row",
        )
        keys = search_keys(frame.select("full_name", "email", "external_id"))
        wrong = [
            {"learner_id": learner_id, "key": key}
            for learner_id, key in frame.select("id", keys.alias("key"))
            .filter(pl.col("key") != frame["search_key"])
            .iter_rows()
        ]
        if wrong:
            connection.execute(
                learners.update()
                .where(learners.c.id == sa.bindparam("learner_id"))
                .values(search_key=sa.bindparam("key")),
                wrong,
            )
        last = rows[-1].id


def downgrade() -> None:
    pass  # each key is its learner's own: it finds what it found, and the learner by its name
