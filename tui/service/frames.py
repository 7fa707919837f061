"""A query's rows straight into a polars frame, without a Python object per row or value.

The database writes the rows as CSV and polars reads it: PostgreSQL with COPY … TO STDOUT, SQLite
with one `group_concat` of quoted lines. A million stored learners (email key, id, External ID)
come back as a frame in about 0.9 s this way, against 2.8 s through SQLAlchemy's rows; the check
of a million-row file against a million invitations reads two such sets.

The query runs in the session's transaction, so it sees what the transaction sees (the commit of
an import holds the write lock while it checks).
"""

from __future__ import annotations

import io
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, LargeBinary, Select, cast, func, select
from sqlalchemy.orm import Session

# polars' types that the CSV carries as text and are parsed afterwards.
_PARSED_LATER = (pl.Datetime,)
# How both databases write a naive timestamp: 2026-12-01 10:30:00[.123456].
_STORED_TIME = "%Y-%m-%d %H:%M:%S%.f"


def read_frame(
    session: Session, query: Select[*tuple[Any, ...]], schema: dict[str, pl.DataType]
) -> pl.DataFrame:
    """The rows of `query`, its columns named and typed by `schema` in order. An empty text
    reads as null, as NULL does (Roster stores no empty text that means something else);
    datetimes are naive, as stored."""
    connection = session.connection()
    read_as = {
        name: pl.String() if isinstance(dtype, _PARSED_LATER) else dtype
        for name, dtype in schema.items()
    }
    if connection.dialect.name == "postgresql":
        compiled = query.compile(
            dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
        )
        buffer = io.BytesIO()
        raw = connection.connection.driver_connection
        copying = f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv)"
        with raw.cursor() as cursor, cursor.copy(copying, compiled.params) as copy:  # type: ignore[union-attr]
            for data in copy:
                buffer.write(data)
        text = buffer.getvalue()
    else:
        # printf's %w doubles the quotes in a text, as CSV does; a NULL is made '' (printf
        # would write "(NULL)"). A lone number column needs neither (printf: 0.1 s a million).
        columns = query.subquery()
        values = [func.coalesce(column, "") for column in columns.c]
        text_of_row: ColumnElement[Any]
        if len(read_as) == 1 and next(iter(read_as.values())).is_numeric():
            text_of_row = values[0]
        else:
            line = ",".join('"%w"' if dtype == pl.String else "%s" for dtype in read_as.values())
            text_of_row = func.printf(line, *values)
        joined = func.group_concat(text_of_row, "\n")
        # As a blob: the text comes as bytes, not a str to be encoded again. No row gives NULL.
        found: bytes | None = session.scalar(select(cast(joined, LargeBinary)).select_from(columns))
        text = found or b""
        if found is not None and len(read_as) == 1:
            # A lone number's NULL is an empty line, and polars reads a last empty line as a
            # row only when it ends.
            text += b"\n"
    frame = pl.read_csv(
        io.BytesIO(text), has_header=False, schema=read_as, raise_if_empty=False, quote_char='"'
    )
    texts = [name for name, dtype in read_as.items() if dtype == pl.String]
    return frame.with_columns(pl.col(texts).replace("", None)).with_columns(
        pl.col(name).str.to_datetime(_STORED_TIME, time_unit="us").cast(dtype)
        for name, dtype in schema.items()
        if isinstance(dtype, _PARSED_LATER)
    )
