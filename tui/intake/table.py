"""UTF-8 CSV text or an .xlsx workbook -> a frame of trimmed cells with spreadsheet row numbers.

Two readers give the same cells: polars' multi-threaded CSV reader for well-formed files, and
Python's `csv` module, the reference, for files polars refuses (ragged rows, stray quotes).
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

import polars as pl

from tui.intake.fields import HEADERS, headers_sentence
from tui.intake.fields import LEARNER_FIELDS as FIELDS
from tui.intake.report import FORMULA_PREFIXES, Problem
from tui.intake.xlsx import damaged

DELIMITERS = (",", ";", "\t", "|")
# The template's headers, in its order, and the field each one's values go to.
LEARNER_FIELDS = {column.header: column.name for column in FIELDS}
REQUIRED_HEADERS = HEADERS
# The column Roster's error file adds after them, ignored without a word when it comes back.
ERROR_HEADER = "Error"

# Unicode White_Space, and the invisible characters spreadsheets and web forms leave behind.
TRIM_CHARS = (
    "\t\n\v\f\r \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
    "\u200b\u200c\u200d\u2060\ufeff"  # invisible, not White_Space
)
# The invisible ones are not Unicode White_Space, and their UTF-8 starts with E2 or EF: in a file
# without those bytes, the engine's own trim (White_Space) trims as TRIM_CHARS does, twice as
# fast. (A byte search is a memchr; a search for the characters costs ten times more.)
_INVISIBLE_LEADS = (b"\xe2", b"\xef")
_BLANK_LINE_CHARS = TRIM_CHARS + "".join(DELIMITERS) + '"'

# A header's named columns beyond this make the file unreadable as a learner file; empty header
# cells (Excel's trailing separators) are kept as columns up to KEPT_EMPTY_COLUMNS, and values
# beyond them are `too_many_fields`. Both keep the work linear for rows of many delimiters.
MAX_HEADER_COLUMNS = 1024
KEPT_EMPTY_COLUMNS = 64
# No field Roster reads may hold more than 256 characters (an email 254), so a longer cell is an
# error whatever it holds: it is kept cut to MAX_CELL_CHARS + 1 characters, which keeps every
# check on it linear and small however long the cell is (a 150 MB cell is 10 kB).
MAX_CELL_CHARS = 10_000
# What Roster's own exports put before a cell a spreadsheet would run as a formula.
# The apostrophe Roster's exports put before a formula prefix (see FORMULA_PREFIXES).
NEUTRALIZED = "^'([" + "".join(re.escape(prefix) for prefix in FORMULA_PREFIXES) + "])"
_NEUTRALIZED_BYTES = re.compile(NEUTRALIZED[1:].encode())

# Python's csv module holds a field being read at 4 bytes a character: a quote never closed
# would hold the rest of the file so. Past this, the reader stops with a file error.
MAX_FIELD_CHARS = 4_000_000
csv.field_size_limit(MAX_FIELD_CHARS)


class NotUtf8(Exception):
    """The text is not UTF-8: the readers check it as they read it."""


class TableError(Exception):
    """The file cannot be read as a table; `problem` is the file error saying why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


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
    warnings: list[Problem] = field(default_factory=list)
    # A workbook's cells that held a date or a time rather than text or a number: (row, column
    # (0-based), the text read). Excel makes an ID such as 2024-03-01 or 3/1 a date.
    dates: list[tuple[int, int, str]] = field(default_factory=list)


_NOT_LETTERS = re.compile(r"[\W_]+")


def header_key(name: str) -> str:
    """A header as matching compares it: case, spacing and punctuation ignored, so that
    "E-mail", "e_mail" and "EMAIL" are one name."""
    return _NOT_LETTERS.sub("", name.casefold())


# What a header cell may say for each field: its header or an alias, case and spacing ignored.
HEADER_KEYS = {
    header_key(name): column.header
    for column in FIELDS
    for name in (column.header, *column.aliases)
}


def read_csv_table(data: bytes, start: int = 0) -> Table | None:
    """Read the UTF-8 CSV text `data[start:]`; None when it holds no non-blank record.

    Raises NotUtf8 when the text is not UTF-8, TableError when it cannot be read as a table.
    """
    try:
        return _read_csv_table(data, start)
    except UnicodeDecodeError as error:
        raise NotUtf8 from error


def _read_csv_table(data: bytes, start: int) -> Table | None:
    found = _find_header(data, start)
    if found is None:
        return None
    offset, header_row, delimiter, header = found
    header = _kept_header(header, header_row)
    width = len(header)
    line_end = _line_end(data, start)
    warnings: list[Problem] = []
    # A header of many empty cells (Excel's trailing separators, thousands of them) foretells
    # rows as wide, which polars refuses only after costly work: go to the reference reader.
    # A quote never closed (an odd number of quotes), or quotes megabytes apart, would have
    # polars read one cell of several times that size before refusing it.
    wide = len(found[3]) > width
    quotes, far_apart = _count_quotes(data, offset)
    unbalanced = quotes % 2 == 1 or (far_apart and _longest_quoted(data, offset) > MAX_FIELD_CHARS)
    # Only an apostrophe before a formula prefix can be Roster's neutralizing one.
    neutralized = _NEUTRALIZED_BYTES.search(data, offset) is not None
    invisible = any(data.find(lead, offset) >= 0 for lead in _INVISIBLE_LEADS)
    if not (wide or unbalanced):
        # polars skips a UTF-8 BOM itself: no copy of the file to leave it out.
        body = data if offset == start else data[offset:]
        records = _read_with_polars(body, delimiter, width, line_end)
        try:
            return _finish(records, header, header_row, delimiter, warnings, neutralized, invisible)
        except (pl.exceptions.ComputeError, pl.exceptions.SchemaError) as error:
            if "invalid utf-8" in str(error):
                raise NotUtf8 from error
            # polars refuses the file (ragged rows, stray quotes): the reference reader reads it.
        except pl.exceptions.NoDataError:
            pass
    try:
        text = str(memoryview(data)[offset:], "utf-8")
        cells, unterminated = _read_with_python(text, delimiter, width, line_end)
    except _FieldTooLarge as error:
        raise TableError(_field_too_large(header_row + error.index)) from error
    if unterminated is not None:
        warnings.append(_unterminated_quote(header_row + unterminated))
    return _finish(cells.lazy(), header, header_row, delimiter, warnings, neutralized, invisible)


def _kept_header(header: list[str], header_row: int) -> list[str]:
    named = len(header)
    while named and not header[named - 1]:
        named -= 1
    if named > MAX_HEADER_COLUMNS:
        raise TableError(
            Problem(
                code="too_large",
                message=f"The header row (row {header_row}) has over {MAX_HEADER_COLUMNS:,} "
                "columns; Roster reads "
                f"at most {MAX_HEADER_COLUMNS:,}. Keep the columns {headers_sentence()} "
                "and delete the others.",
            )
        )
    return header[: max(named, min(len(header), KEPT_EMPTY_COLUMNS))]


_QUOTE_WINDOW = 1 << 20


def _count_quotes(data: bytes, start: int) -> tuple[int, bool]:
    """The quotes in `data[start:]`, and whether two may be over MAX_FIELD_CHARS bytes apart:
    counted per window of a megabyte, such a gap spans a run of windows holding no quote."""
    total = run = longest_run = 0
    for window in range(start, len(data), _QUOTE_WINDOW):
        count = data.count(b'"', window, window + _QUOTE_WINDOW)
        total += count
        run = 0 if count else run + 1
        longest_run = max(longest_run, run)
    return total, longest_run >= MAX_FIELD_CHARS // _QUOTE_WINDOW - 1


def _longest_quoted(data: bytes, start: int = 0, window: int = 1 << 23) -> int:
    """The most bytes between a quote and the next one in `data[start:]`, counting quotes in
    pairs (bytes.split over windows of the data: no loop per byte or per quote)."""
    inside = False  # after an odd number of quotes
    current = longest = 0
    for begin in range(start, len(data), window):
        lengths = list(map(len, data[begin : begin + window].split(b'"')))
        if len(lengths) == 1:
            current += lengths[0] if inside else 0
            longest = max(longest, current)
            continue
        if inside:
            longest = max(longest, current + lengths[0])
        middle = lengths[1:-1][0 if not inside else 1 :: 2]  # the pieces between a pair
        longest = max(longest, *middle) if middle else longest
        inside ^= (len(lengths) - 1) % 2 == 1
        current = lengths[-1] if inside else 0
    return max(longest, current)


class _FieldTooLarge(Exception):
    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index  # of the record, the header's being 0


def _field_too_large(row: int) -> Problem:
    return Problem(
        code="too_large",
        message=f"Row {row} has a cell of over {MAX_FIELD_CHARS:,} characters, usually a quote "
        '(") that opens there and is never closed, so the rest of the file reads as one cell. '
        "Close the quote or delete it, then upload the file again.",
    )


def _unterminated_quote(row: int) -> Problem:
    return Problem(
        code="unterminated_quote",
        message=f'Row {row} opens a quote (") that is never closed, so everything from there '
        "to the end of the file reads as one cell of that row. Close the quote or delete it, "
        "then upload the file again.",
    )


def read_xlsx_table(
    data: bytes,
    name: str = "The workbook",
    zero_padded: dict[int, list[tuple[int, int]]] | None = None,
) -> Table | None:
    """Read the first sheet of an .xlsx workbook; None when it holds no non-blank row.

    Call it on a workbook `xlsx.check_workbook` passed: the reader holds the sheet's grid.
    `zero_padded` (from the same check) gives the numbers Excel shows with leading zeros
    (format 000000): they read as shown, 001234, not as the number 1234.
    """
    padded = zero_padded or {}
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = workbook.get_sheet_by_index(0)
        # iter_rows starts at row 1, but at the first column holding a cell.
        left = sheet.start[1] if sheet.start else 0
        rows = sheet.iter_rows()
        pad = [""] * left
        dates: list[tuple[int, int, str]] = []
        dated: list[object] = []  # the row's date and time values, as `cell_text` meets them

        def cell_text(value: object) -> str:
            if isinstance(value, date | time | timedelta):
                dated.append(value)
            return _xlsx_cell_text(value)

        def text(number: int, row: Sequence[object]) -> list[str]:
            record = [value if type(value) is str else cell_text(value) for value in row]
            if pad:
                record = pad + record
            if dated:
                dated.clear()
                dates.extend(
                    (number, left + column, record[left + column])
                    for column, value in enumerate(row)
                    if isinstance(value, date | time | timedelta)
                )
            for column, digits in padded.get(number, ()):
                if column < len(record) and record[column].isdigit():
                    record[column] = record[column].zfill(digits)
            return record

        for index, row in enumerate(rows):
            record = text(index + 1, row)
            if any(cell.strip(TRIM_CHARS) for cell in record):
                header = [cell.strip(TRIM_CHARS) for cell in record]
                while header and not header[-1]:
                    header.pop()
                width = len(header)
                records = (text(number, row) for number, row in enumerate(rows, index + 2))
                cells = _frame_from_records(itertools.chain([record], records), width)
                table = _finish(cells.lazy(), header, index + 1, None)
                return replace(table, dates=dates)
    except TableError:
        raise
    except BaseException as error:  # python-calamine's errors, and pyo3's PanicException
        if not isinstance(error, Exception) and type(error).__name__ != "PanicException":
            raise
        raise TableError(damaged(name, f"{type(error).__name__}: {error}")) from error
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


def _find_header(data: bytes, start: int = 0) -> tuple[int, int, str, list[str]] | None:
    """The header: its byte offset, spreadsheet row, delimiter and cells (first non-blank line)."""
    line_end = _line_end(data, start)
    offset = start
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
    line = _one_line_end(line)  # a stray CR or LF (say before the header) ends a record
    for delimiter in DELIMITERS:
        cells = [cell[: MAX_CELL_CHARS + 1] for cell in _first_record(line, delimiter)]
        found = len(
            {HEADER_KEYS[key] for cell in cells if (key := header_key(cell)) in HEADER_KEYS}
        )
        candidate = (found, len(cells), delimiter, cells)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    assert best is not None
    return best[2], [cell.strip(TRIM_CHARS) for cell in best[3]]


def _first_record(line: str, delimiter: str) -> list[str]:
    """The first non-empty record of `line` as Python's csv reads it. Without quotes that is a
    plain split, which holds one copy of a long line where the csv module holds four."""
    if '"' not in line:
        parts = (part.split(delimiter, MAX_HEADER_COLUMNS + 1) for part in line.split("\n"))
        cells = next((part for part in parts if part != [""]), [])
        if len(cells) > MAX_HEADER_COLUMNS + 1 and not cells[-1].strip(delimiter + TRIM_CHARS):
            cells[-1] = ""  # the rest of the line is trailing separators
        return cells
    # A header is short: cells past its first megabyte can only be too many or too long.
    records = csv.reader(_lines(line[: 1 << 20], "\n"), delimiter=delimiter)
    return next((record for record in records if record), [])


def _one_line_end(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


_LEADING_CRS = re.compile(rb"\r*")


def _line_end(data: bytes, start: int = 0) -> str:
    """'\\r' for old Mac files (CR only), else '\\n' (LF and CRLF): the first line break decides,
    after any CRs the file starts with (a stray CR before the header). Bytes methods, no loop."""
    crs = _LEADING_CRS.match(data, start)
    start = crs.end() if crs else start
    lf = data.find(b"\n", start)
    cr = data.find(b"\r", start)
    if cr < 0 or (0 <= lf < cr) or lf == cr + 1:
        return "\n"
    return "\r"


def _read_with_polars(body: bytes, delimiter: str, width: int, line_end: str) -> pl.LazyFrame:
    """All records from the header on, as a query: `_finish` streams it in one pass."""
    schema = {f"c{index}": pl.String for index in range(width)}
    return pl.scan_csv(
        body,
        has_header=False,
        schema=schema,
        separator=delimiter,
        eol_char=line_end,
        quote_char='"',
    ).with_columns(pl.lit(None, dtype=pl.Int32).alias("overflow"))


def _read_with_python(
    text: str, delimiter: str, width: int, line_end: str
) -> tuple[pl.DataFrame, int | None]:
    """The reference reader, for files polars refuses; also the index of the last record when it
    opens a quote that is never closed (Python's csv module reads to the end of the file).

    Python's csv module ends a record at any CR or LF; a file has one line end, and the other
    break character is cell content (as polars reads it), so it is hidden from the parser: it
    becomes HIDE + "1", and HIDE itself HIDE + HIDE, so any text round-trips.
    """
    other = "\r" if line_end == "\n" else "\n"
    content_break = r"\r(?!\n)" if line_end == "\n" else "\n"
    needs_hiding = re.search(content_break, text) is not None
    if needs_hiding:
        hidden = re.sub(content_break, _HIDE + "1", text.replace(_HIDE, _HIDE + _HIDE))
    else:
        hidden = text
    del text
    separator = "\n" if line_end == "\n" else "\r"
    reader = csv.reader(_lines(hidden, separator), delimiter=delimiter)
    last = {"index": -1, "line": 0}

    def counted() -> Iterator[Sequence[str]]:
        before = 0
        try:
            for index, record in enumerate(reader):
                last["index"], last["line"] = index, before
                before = reader.line_num
                yield record
        except csv.Error as error:
            if "field limit" not in str(error):
                raise
            raise _FieldTooLarge(last["index"] + 1) from error

    records: Iterable[Sequence[str]] = counted()
    if needs_hiding:  # put the hidden line breaks back before any cell is looked at
        unhide = functools.partial(_unhide, other=other)
        records = ([unhide(cell) for cell in record] for record in records)
    frame = _frame_from_records(records, width)
    unterminated = None
    if reader.line_num - last["line"] > 1 and _opens_unclosed_quote(
        hidden, last["line"], separator, delimiter
    ):
        unterminated = last["index"]
    return frame, unterminated


_HIDE = "\ue000"
_HIDDEN = re.compile(_HIDE + "(.)", re.DOTALL)


def _unhide(cell: str, other: str) -> str:
    if _HIDE not in cell:
        return cell
    return _HIDDEN.sub(lambda match: _HIDE if match.group(1) == _HIDE else other, cell)


def _lines(text: str, separator: str, start: int = 0) -> Iterator[str]:
    """The lines of `text` from `start`, each with its line end (as io.StringIO would give them,
    without its copy of the whole text in 4 bytes a character)."""
    while start < len(text):
        end = text.find(separator, start)
        stop = len(text) if end < 0 else end + 1
        yield text[start:stop]
        start = stop


def _opens_unclosed_quote(text: str, line: int, separator: str, delimiter: str) -> bool:
    """Whether the record starting after `line` line ends runs to the end inside a quote."""
    offset = 0
    for _ in range(line):
        found = text.find(separator, offset)
        if found < 0:
            return False
        offset = found + 1
    strict = csv.reader(_lines(text, separator, offset), delimiter=delimiter, strict=True)
    try:
        for _ in strict:
            pass
    except csv.Error as error:
        return "unexpected end of data" in str(error)
    return False


def _frame_from_records(records: Iterable[Sequence[str]], width: int) -> pl.DataFrame:
    """Records (header first) as the same frame the polars reader gives, `overflow` included."""
    columns: list[list[str]] = [[] for _ in range(width)]
    overflow: list[int | None] = []
    for record in records:
        count = len(record)
        for index, column in enumerate(columns):
            column.append(record[index][: MAX_CELL_CHARS + 1] if index < count else "")
        extra = None
        if count > width and "".join(record[width:]).strip(TRIM_CHARS):
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
    records: pl.LazyFrame,
    header: list[str],
    header_row: int,
    delimiter: str | None,
    warnings: list[Problem] | None = None,
    neutralized: bool = True,
    invisible: bool = True,
) -> Table:
    """Drop the header record, number the rows, trim the cells, drop and count blank records.

    One streamed query: no column exists untrimmed in full. `neutralized` says whether any cell
    may start with the apostrophe Roster's export puts before a formula prefix, `invisible`
    whether any may hold an invisible character of TRIM_CHARS.
    """
    names = [f"c{index}" for index in range(len(header))]
    # A cell is cut to MAX_CELL_CHARS + 1 before anything else looks at it (as the reference
    # reader cuts it): a 150 MB cell is then 10 kB for every step after.
    trimmed = [
        pl.col(name)
        .fill_null("")
        .str.slice(0, MAX_CELL_CHARS + 1)
        .str.strip_chars(TRIM_CHARS if invisible else None)
        for name in names
    ]
    if neutralized:  # a cell Roster's export neutralized ('=...) reads back as it was typed
        trimmed = [
            pl.when(cell.str.starts_with("'"))
            .then(cell.str.replace(NEUTRALIZED, "$1"))
            .otherwise(cell)
            .alias(name)
            for cell, name in zip(trimmed, names, strict=True)
        ]
    blank = pl.all_horizontal([pl.col(name) == "" for name in names]) & pl.col("overflow").is_null()
    cells = (
        records.slice(1)
        .with_row_index("row", offset=header_row + 1)
        .with_columns(trimmed)
        .with_columns(blank.alias("blank"))
        .collect()
    )
    blank_rows = int(cells["blank"].sum())
    if blank_rows:
        cells = cells.filter(~pl.col("blank"))
    return Table(
        header=header,
        header_row=header_row,
        delimiter=delimiter,
        cells=cells.drop("blank"),
        blank_rows=blank_rows,
        warnings=warnings or [],
    )
