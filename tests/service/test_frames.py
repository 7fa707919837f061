"""A query's rows read into a frame (tui.service.frames) keep every row and every null."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

from tui.service.db import open_database
from tui.service.frames import read_frame

ROWS = [
    [(1,), (None,)],  # a null last: a bare empty line at the end of the text
    [(None,)],
    [(None,), (2,), (None,)],
    [(3,), (4,)],
    [],
]


def read_back(
    database_url: str, rows: list[tuple[Any, ...]], schema: dict[str, pl.DataType]
) -> list[tuple[Any, ...]]:
    """`rows` stored in a table of `schema`'s columns, then read with read_frame in order."""
    kinds = {pl.String(): String, pl.Int64(): Integer}
    table = Table(
        "stored",
        MetaData(),
        Column("id", Integer, primary_key=True),
        *(Column(name, kinds[dtype]) for name, dtype in schema.items()),
    )
    sessions = open_database(database_url)
    try:
        table.create(sessions.kw["bind"])
        with sessions() as session:
            if rows:
                session.execute(
                    insert(table), [dict(zip(schema, row, strict=True)) for row in rows]
                )
            query = select(*(table.c[name] for name in schema)).order_by(table.c.id)
            return read_frame(session, query, schema).rows()
    finally:
        sessions.kw["bind"].dispose()


@pytest.mark.parametrize("rows", ROWS)
def test_a_lone_number_column_keeps_its_null_rows(
    database_url: str, rows: list[tuple[Any, ...]]
) -> None:
    assert read_back(database_url, rows, {"n": pl.Int64()}) == rows


def test_texts_and_numbers_keep_their_nulls_and_their_quotes(database_url: str) -> None:
    rows = [('a, "quoted"', 1), (None, None), ("line\nbreak", 3), (None, None)]
    assert read_back(database_url, rows, {"t": pl.String(), "n": pl.Int64()}) == rows
