"""The dry run's request body, read by polars (never one Python object per row).

Two forms: the CheckRequest JSON document, and CSV (`CHECK_CSV_COLUMNS`, contract in the query),
which Roster's own client sends. At a million rows the CSV is read in 0.07 s and 80 MB; the
same rows as JSON take 0.25 s and 320 MB, and pydantic took 0.45 s of the interpreter's lock
(a frozen app, when the service is embedded) and more still.

polars reads JSON more leniently than pydantic would (1.5 reads as 1, a number as text). That
is harmless here: a dry run writes nothing, and a commit checks every row again.
"""

from __future__ import annotations

import functools
import io
from typing import TYPE_CHECKING, Any

from tui.intake.fields import sentence
from tui.service.errors import MAX_ROW, ApiProblem, body_too_large, first_line, unreadable_body
from tui.wire.models import CHECK_CSV_COLUMNS, CheckRequest

# polars is imported where rows are read: the service starts without it, and a command that
# only lists (roster programs) never loads it.
if TYPE_CHECKING:
    import polars as pl

# Six times a million rows of the longest emails: no file Roster reads makes a larger request.
MAX_BODY = 256 * 2**20
_SHAPES = (
    'send {"contract_id": N, "rows": {'
    + ", ".join(f'"{name}": [...]' for name in CHECK_CSV_COLUMNS)
    + "}} as "
    f"application/json, or CSV with the header {','.join(CHECK_CSV_COLUMNS)} as text/csv "
    "with ?contract_id=N"
)
_ROWS_COLUMNS = sentence([f"rows.{name}" for name in CHECK_CSV_COLUMNS])


def invalid(detail: str) -> ApiProblem:
    return unreadable_body(detail, _SHAPES)


def too_large() -> ApiProblem:
    return body_too_large(
        f"A dry run takes at most {MAX_BODY // 2**20} MB; check the file in parts."
    )


def read_json(body: io.BytesIO) -> tuple[int, pl.DataFrame]:
    """The contract id and the rows (`row`, `email`, `external_id`) of a CheckRequest."""
    import polars as pl

    try:
        parsed = pl.read_json(body, schema=_json_schema())
    except pl.exceptions.PolarsError as error:
        raise invalid(f"The body is not a dry-run request ({first_line(error)})") from None
    if parsed.height != 1:
        raise invalid("The body must be one JSON object")
    contract_id = parsed["contract_id"][0]
    if contract_id is None or not 1 <= contract_id <= MAX_ROW:
        raise invalid(f"contract_id must be a whole number from 1 to {MAX_ROW}")
    columns = parsed.select(pl.col("rows").struct.unnest())
    lengths = columns.select(pl.all().list.len())
    missing = [name for name, length in lengths.row(0, named=True).items() if length is None]
    if missing:
        raise invalid(f"rows.{missing[0]} is missing")
    if len(set(lengths.row(0))) != 1:
        raise invalid(f"{_ROWS_COLUMNS} must have the same length")
    rows = columns.explode(columns.columns)
    if not lengths.item(0, 0):  # an empty list explodes to one null: no rows, their types
        rows = rows.clear()
    return contract_id, _checked(rows, "rows.row", "rows.email")


def read_csv(body: io.BytesIO) -> pl.DataFrame:
    """The rows of a CSV dry run: the header `CHECK_CSV_COLUMNS`, then one line per row."""
    import polars as pl

    header = body.readline(len(CHECK_CSV_COLUMNS) * 20)
    body.seek(0)
    if header.rstrip(b"\r\n") != ",".join(CHECK_CSV_COLUMNS).encode():
        raise invalid("The CSV must begin with its header line")
    try:
        rows = pl.read_csv(
            body,
            schema=_csv_schema(),
            has_header=True,
            encoding="utf8",
            quote_char='"',
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as error:
        raise invalid(f"The CSV cannot be read ({first_line(error)})") from None
    return _checked(rows, "row", "email")


def _checked(rows: pl.DataFrame, row: str, email: str) -> pl.DataFrame:
    import polars as pl

    if rows["row"].null_count():
        raise invalid(f"Every {row} must be a spreadsheet row number")
    if rows["email"].null_count():
        raise invalid(f"Every {email} must be an email address")
    if rows.select(((pl.col("row") < 1) | (pl.col("row") > MAX_ROW)).any()).item():
        raise invalid(f"Every {row} must be a spreadsheet row number from 1 to {MAX_ROW}")
    return rows.with_columns(pl.col("row").cast(pl.UInt32))


def openapi_body() -> dict[str, Any]:
    """`openapi_extra` of the dry run, which reads its body itself: the CheckRequest schema,
    its nested models written in place (no other route has them in the components), or CSV."""
    schema = CheckRequest.model_json_schema()
    nested = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(nested[node["$ref"].rsplit("/", 1)[-1]])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(value) for value in node]
        return node

    csv = {
        "type": "string",
        "description": f"A header line {','.join(CHECK_CSV_COLUMNS)}, then one line per "
        "row; the contract is the contract_id query parameter.",
    }
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": inline(schema)},
                "text/csv": {"schema": csv},
            },
        }
    }


@functools.cache
def _csv_schema() -> dict[str, pl.DataType]:
    """The rows' columns (CHECK_CSV_COLUMNS): the spreadsheet row, the email and the External
    ID."""
    import polars as pl

    return {name: pl.Int64() if name == "row" else pl.String() for name in CHECK_CSV_COLUMNS}


@functools.cache
def _json_schema() -> dict[str, pl.DataType]:
    import polars as pl

    return {
        "contract_id": pl.Int64(),
        "rows": pl.Struct({name: pl.List(dtype) for name, dtype in _csv_schema().items()}),
    }
