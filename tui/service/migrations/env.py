"""Alembic environment: runs on the connection Roster hands it (see tui.service.schema.migrate)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from tui.service.db import Base

config = context.config
connection = config.attributes.get("connection")
render_as_batch = True  # SQLite alters tables by copying them

if connection is None:  # `alembic` run by hand, with -x url=...
    url = context.get_x_argument(as_dictionary=True)["url"]
    with create_engine(url).begin() as own_connection:
        context.configure(
            connection=own_connection,
            target_metadata=Base.metadata,
            render_as_batch=render_as_batch,
        )
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(
        connection=connection, target_metadata=Base.metadata, render_as_batch=render_as_batch
    )
    with context.begin_transaction():
        context.run_migrations()
