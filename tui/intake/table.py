"""UTF-8 CSV text or an .xlsx workbook -> a frame of trimmed cells with spreadsheet row numbers.

Two readers give the same cells: polars' multi-threaded CSV reader for well-formed files, and
Python's `csv` module, the reference, for files polars refuses (ragged rows, stray quotes).
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import polars as pl

DELIMITERS = (",", ";", "\t", "|")
REQUIRED_HEADERS = ("Full Name", "Email", "External ID")

# Unicode White_Space, and the invisible characters spreadsheets and web forms leave behind.
TRIM_CHARS = (
    "\t\n\v\f\r \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
    "\u200b\u200c\u200d\u2060\ufeff"
)
_BLANK_LINE_CHARS = TRIM_CHARS + "".join(DELIMITERS) + '"'

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass(frozen=True)
class Table:
    """The cells of a learner file below its header.

    `cells` has `row` (the spreadsheet row number), `c0`..`cN` (one per header column, trimmed,
    "" when empty) and `overflow` (the 1-based column of the first non-empty cell beyond the
    header, or null). Blank records are dropped and counted in `blank_rows`.
    """

    header: list[str]
    header_row: int
    delimiter: str | None
    cells: pl.DataFrame
    blank_rows: int


def header_key(name: str) -> str:
    return name.strip(TRIM_CHARS).casefold()


_REQUIRED_KEYS = {header_key(name) for name in REQUIRED_HEADERS}


def read_csv_table(data: bytes) -> Table | None:
    """Read UTF-8 CSV text; None when it holds no non-blank record."""
    found = _find_header(data)
    if found is None:
        return None
    offset, header_row, delimiter, header = found
    body = data[offset:]
    width = len(header)
    line_end = _line_end(body)
    cells = _read_with_polars(body, delimiter, width, line_end)
    if cells is None:
        cells = _read_with_python(body.decode("utf-8"), delimiter, width, line_end)
    return _finish(cells, header, header_row, delimiter)


def read_xlsx_table(data: bytes) -> Table | None:
    """Read the first sheet of an .xlsx workbook; None when it holds no non-blank row."""
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    sheet = workbook.get_sheet_by_index(0)
    records = [
        [_xlsx_cell_text(value) for value in row] for row in sheet.to_python(skip_empty_area=False)
    ]
    for index, record in enumerate(records):
        if any(cell.strip(TRIM_CHARS) for cell in record):
            header = [cell.strip(TRIM_CHARS) for cell in record]
            while header and not header[-1]:
                header.pop()
            cells = _frame_from_records(records[index:], len(header))
            return _finish(cells, header, index + 1, None)
    return None


def _xlsx_cell_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return "" if value is None else str(value)


def _find_header(data: bytes) -> tuple[int, int, str, list[str]] | None:
    """The header: its byte offset, spreadsheet row, delimiter and cells (first non-blank line)."""
    line_end = _line_end(data)
    offset = 0
    row = 1
    while offset < len(data):
        end = data.find(line_end.encode(), offset)
        stop = len(data) if end < 0 else end
        line = data[offset:stop].decode("utf-8").removesuffix("\r")
        if line.strip(_BLANK_LINE_CHARS):
            delimiter, header = _split_header(line)
            return offset, row, delimiter, header
        offset = stop + 1
        row += 1
    return None


def _split_header(line: str) -> tuple[str, list[str]]:
    """The delimiter splitting the header into the most required names (then the most cells)."""
    best: tuple[int, int, str, list[str]] | None = None
    for delimiter in DELIMITERS:
        cells = next(csv.reader([line], delimiter=delimiter), [])
        found = len(_REQUIRED_KEYS & {header_key(cell) for cell in cells})
        candidate = (found, len(cells), delimiter, cells)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    assert best is not None
    return best[2], [cell.strip(TRIM_CHARS) for cell in best[3]]


def _line_end(data: bytes) -> str:
    """'\\r' for old Mac files (CR only), else '\\n' (LF and CRLF)."""
    for index, byte in enumerate(data):
        if byte == 0x0A:
            return "\n"
        if byte == 0x0D:
            return "\n" if data[index + 1 : index + 2] == b"\n" else "\r"
    return "\n"


def _read_with_polars(
    body: bytes, delimiter: str, width: int, line_end: str
) -> pl.DataFrame | None:
    """All records from the header on; None when polars refuses the file (the fallback reads it)."""
    schema = {f"c{index}": pl.String for index in range(width)}
    try:
        frame = pl.read_csv(
            body,
            has_header=False,
            schema=schema,
            separator=delimiter,
            eol_char=line_end,
            quote_char='"',
        )
    except (pl.exceptions.ComputeError, pl.exceptions.SchemaError, pl.exceptions.NoDataError):
        return None
    return frame.with_columns(pl.lit(None, dtype=pl.Int32).alias("overflow"))


def _read_with_python(text: str, delimiter: str, width: int, line_end: str) -> pl.DataFrame:
    """The reference reader, for files polars refuses.

    Python's csv module ends a record at any CR or LF; a file has one line end, and the other
    break character is cell content (as polars reads it), so it is hidden from the parser.
    """
    other = "\r" if line_end == "\n" else "\n"
    placeholder = next(chr(code) for code in range(0xE000, 0xF900) if chr(code) not in text)
    if line_end == "\n":
        hidden = re.sub(r"\r(?!\n)", placeholder, text)
    else:
        hidden = text.replace("\n", placeholder)
    records: Iterable[Sequence[str]] = csv.reader(
        io.StringIO(hidden, newline=""), delimiter=delimiter
    )
    if hidden != text:  # put the hidden line breaks back before any cell is looked at
        records = ([cell.replace(placeholder, other) for cell in record] for record in records)
    return _frame_from_records(records, width)


def _frame_from_records(records: Iterable[Sequence[str]], width: int) -> pl.DataFrame:
    """Records (header first) as the same frame the polars reader gives, `overflow` included."""
    columns: list[list[str]] = [[] for _ in range(width)]
    overflow: list[int | None] = []
    for record in records:
        count = len(record)
        for index, column in enumerate(columns):
            column.append(record[index] if index < count else "")
        extra = None
        for index in range(width, count):
            if record[index].strip(TRIM_CHARS):
                extra = index + 1
                break
        overflow.append(extra)
    frame = {
        f"c{index}": pl.Series(column, dtype=pl.String) for index, column in enumerate(columns)
    }
    frame["overflow"] = pl.Series(overflow, dtype=pl.Int32)
    return pl.DataFrame(frame)


def _finish(
    records: pl.DataFrame, header: list[str], header_row: int, delimiter: str | None
) -> Table:
    """Drop the header record, number the rows, trim the cells, drop and count blank records."""
    names = [f"c{index}" for index in range(len(header))]
    cells = (
        records.slice(1)
        .with_row_index("row", offset=header_row + 1)
        .with_columns(pl.col(name).fill_null("").str.strip_chars(TRIM_CHARS) for name in names)
    )
    blank = pl.all_horizontal([pl.col(name) == "" for name in names]) & pl.col("overflow").is_null()
    kept = cells.filter(~blank)
    return Table(
        header=header,
        header_row=header_row,
        delimiter=delimiter,
        cells=kept,
        blank_rows=cells.height - kept.height,
    )
