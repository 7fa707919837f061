"""Any table Python's csv module writes, in any supported shape, reads back cell for cell."""

from __future__ import annotations

import codecs
import csv
import io
import re
import tempfile
from pathlib import Path
from typing import Literal

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tui.intake import read_learner_file
from tui.intake.table import TRIM_CHARS

ENCODINGS = ["utf-8", "utf-8-sig", "utf-16-le", "utf-16-be", "cp1252"]
BOMS = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}
HEADER_SPELLINGS = {
    "Full Name": ["Full Name", "full name", " FULL NAME "],
    "Email": ["Email", "email", "EMAIL\u00a0"],
    "External ID": ["External ID", "external id", "External Id"],
}
# Letters, delimiters, quotes, line breaks, spaces, invisible and accented characters.
CELL_ALPHABET = st.sampled_from(
    [*"abcXYZ 019,;\t|\"'\r\n@.-=", "\u00a0", "\u200b", "\ufeff", "é", "ß", "€", "中", "😀"]
)
cells = st.text(alphabet=CELL_ALPHABET, max_size=8)


def read_back(cell: str) -> str:
    """A cell as Roster reads it: trimmed, and an export's formula neutralization ('=) undone."""
    return re.sub(r"^'([=+\-@])", r"\1", cell.strip(TRIM_CHARS))


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[list[str]], list[list[str]]]:
    """(the records to write, header first; each row's cells as Full Name, Email, External ID)"""
    order = draw(st.permutations(list(HEADER_SPELLINGS)))
    header = [draw(st.sampled_from(HEADER_SPELLINGS[name])) for name in order]
    rows = draw(st.lists(st.lists(cells, min_size=3, max_size=3), max_size=8))
    canonical = [
        [row[order.index(name)] for name in ("Full Name", "Email", "External ID")] for row in rows
    ]
    return [header, *rows], canonical


@settings(max_examples=300, deadline=None)
@given(
    table=tables(),
    encoding=st.sampled_from(ENCODINGS),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    line_end=st.sampled_from(["\n", "\r\n", "\r"]),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
    ragged=st.booleans(),
)
def test_written_tables_read_back_with_the_same_cells_and_row_numbers(
    *,
    table: tuple[list[list[str]], list[list[str]]],
    encoding: str,
    delimiter: str,
    line_end: str,
    quoting: Literal[0, 1, 2, 3],
    ragged: bool,
) -> None:
    written, canonical = table
    if ragged and len(written) > 1:
        written = [written[0], [*written[1], ""], *written[2:]]  # an Excel trailing separator
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator=line_end, quoting=quoting).writerows(
        written
    )
    text = buffer.getvalue()
    try:
        data = BOMS.get(encoding, b"") + text.encode(encoding)
    except UnicodeEncodeError:
        assume(False)
        return
    if encoding == "cp1252" and not text.isascii():
        try:
            data.decode("utf-8")
            assume(False)  # also valid UTF-8: read as UTF-8 by design
        except UnicodeDecodeError:
            pass

    # Python's writer leaves a lone LF unquoted in a CR file (and a lone CR in an LF file); when
    # such a cell ends up right after a line end, the bytes read "\r\n" and no reader can tell
    # the file from a CRLF one. Those files are ambiguous, not misread.
    first_end = next((char for char in text if char in "\r\n"), "\n")
    starts_crlf = text[text.find(first_end) : text.find(first_end) + 2] == "\r\n"
    assume(
        ("\r" if first_end == "\r" and not starts_crlf else "\n")
        == ("\r" if line_end == "\r" else "\n")
    )

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "learners.csv"
        path.write_bytes(data)
        result = read_learner_file(path)

    expected = [
        (number, *(read_back(cell) for cell in row))
        for number, row in enumerate(canonical, start=2)
        if any(cell.strip(TRIM_CHARS) for cell in row)
    ]
    learners = result.learners
    got = list(
        zip(
            learners["row"],
            learners["full_name"],
            learners["email"],
            learners["external_id"],
            strict=True,
        )
    )
    assert got == expected
    assert result.report.blank_rows_skipped == len(canonical) - len(expected)
    # `roster check --format json` writes the issues from the frame: the same text as pydantic's.
    assert result.report_json() == result.report.model_dump_json()
    if expected:
        assert result.report.file_errors == []
        assert result.report.delimiter == delimiter
