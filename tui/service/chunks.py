"""An import's chunks: what a client uploads, how the service keeps them until the commit, and
how the commit reads them back. polars reads and writes every row, never a Python object each.

A chunk comes as CSV (`CHUNK_CSV_COLUMNS`, text/csv: what Roster's client sends) or as a
RowBatch JSON document. Either way it is kept in one form, CSV without its header, written by
polars from the rows read: the same rows sent again, in either form, are the same text (a
retried chunk is recognized), and the commit reads every chunk of an import as one CSV.
At a million rows the JSON took the service's pydantic 2 s and its commit as much again, and
the stored chunks twice the room.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from tui.intake.fields import LEARNER_FIELDS, OPTIONAL_FIELDS, sentence
from tui.service.errors import MAX_ROW, ApiProblem, body_too_large, first_line, unreadable_body
from tui.wire.models import CHUNK_CSV_COLUMNS, RowBatch

# polars is imported where rows are read: the service starts without it, and a command that
# only lists (roster programs) never loads it.
if TYPE_CHECKING:
    import polars as pl

# A chunk of a million rows of the longest names and emails: far more than a client sends.
MAX_BODY = 256 * 2**20
_SHAPES = (
    f"send CSV with the header {','.join(CHUNK_CSV_COLUMNS)} as text/csv, or "
    + "{"
    + ", ".join(f'"{name}": [...]' for name in CHUNK_CSV_COLUMNS)
    + "} as application/json"
)


@functools.cache
def schema() -> dict[str, pl.DataType]:
    """A chunk's columns (CHUNK_CSV_COLUMNS): the spreadsheet row, then a text per learner
    field."""
    import polars as pl

    return {"row": pl.Int64(), **{field.name: pl.String() for field in LEARNER_FIELDS}}


def invalid(detail: str) -> ApiProblem:
    return unreadable_body(detail, _SHAPES)


def too_large() -> ApiProblem:
    return body_too_large(
        f"A chunk takes at most {MAX_BODY // 2**20} MB; send the rows in smaller chunks."
    )


def read_csv(body: bytes) -> pl.DataFrame:
    """The rows of a CSV chunk: the header `CHUNK_CSV_COLUMNS`, then one line per row. An
    optional field's empty value (External ID) is none; an empty name or email stays empty (the
    commit's row rules report it)."""
    import polars as pl

    header = ",".join(CHUNK_CSV_COLUMNS).encode()
    first = body[: body.find(b"\n")] if b"\n" in body else body
    if first.rstrip(b"\r") != header:
        raise invalid("The CSV must begin with its header line")
    try:
        rows = pl.read_csv(
            io.BytesIO(body),
            schema=schema(),
            has_header=True,
            encoding="utf8",
            quote_char='"',
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as error:
        raise invalid(f"The CSV cannot be read ({first_line(error)})") from None
    numbered = rows.select(pl.col("row").is_between(1, MAX_ROW).all()).item()
    if rows["row"].null_count() or not numbered:
        raise invalid(f"Every row must be a spreadsheet row number from 1 to {MAX_ROW}")
    return _canonical(rows)


def read_json(body: bytes) -> pl.DataFrame:
    """The rows of a RowBatch JSON chunk, validated as the documented model."""
    import polars as pl

    try:
        batch = RowBatch.model_validate_json(body)
    except ValidationError as error:
        raise RequestValidationError(
            [{**item, "loc": ("body", *item["loc"])} for item in error.errors()]
        ) from None
    return _canonical(pl.DataFrame(batch.model_dump(), schema=schema()))


def _canonical(rows: pl.DataFrame) -> pl.DataFrame:
    """One form for the same rows: an optional field's empty value is none (null), a required
    field's missing value is empty (the commit's row rules report it)."""
    import polars as pl

    return rows.select(
        pl.col("row").cast(pl.UInt32),
        *(
            pl.col(field.name).fill_null("")
            if field.required
            else pl.when(pl.col(field.name) != "").then(pl.col(field.name)).alias(field.name)
            for field in LEARNER_FIELDS
        ),
    )


def stored(rows: pl.DataFrame) -> bytes:
    """The form a chunk is kept in: its rows as CSV, no header line."""
    buffer = io.BytesIO()
    rows.write_csv(buffer, include_header=False)
    return buffer.getvalue()


def read_stored(payloads: Iterable[bytes | str]) -> pl.DataFrame:
    """Every kept chunk of an import, in order, as one frame: `row` (UInt32) and a column per
    learner field, `full_name`, `email`, `external_id` (the frame `checks.check_rows` takes)."""
    import polars as pl

    parts: list[pl.DataFrame] = []
    buffer = io.BytesIO()
    for payload in payloads:
        kept = payload.encode() if isinstance(payload, str) else payload
        if kept.startswith(b"{"):  # kept as JSON by an earlier Roster (an upgrade midway)
            parts += [_read_kept(buffer), read_json(kept)]
            buffer = io.BytesIO()
        else:
            buffer.write(kept)
    parts.append(_read_kept(buffer))
    return pl.concat(parts) if len(parts) > 1 else parts[0]


def _read_kept(buffer: io.BytesIO) -> pl.DataFrame:
    import polars as pl

    buffer.seek(0)
    rows = pl.read_csv(
        buffer,
        has_header=False,
        new_columns=list(schema()),
        schema=schema(),
        raise_if_empty=False,
    )
    return _canonical(rows)


_OPTIONAL = sentence([field.name for field in OPTIONAL_FIELDS])


def openapi_body() -> dict[str, Any]:
    """`openapi_extra` of the chunk upload, which reads its body itself: CSV, or the RowBatch
    JSON (its schema written in place: no other route has it in the components)."""
    schema = RowBatch.model_json_schema()
    schema.pop("$defs", None)
    csv = {
        "type": "string",
        "description": f"A header line {','.join(CHUNK_CSV_COLUMNS)}, then one line per row "
        f"(an empty {_OPTIONAL} is none). What Roster's client sends: the cheapest to read.",
    }
    return {
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": csv}, "application/json": {"schema": schema}},
        }
    }
