"""Read and check a learner file end to end: path -> report, learners and issues."""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from pathlib import Path
from typing import BinaryIO

import polars as pl
from pydantic import TypeAdapter

from tui.intake.columns import ColumnChoices
from tui.intake.decode import TextFile, decode_learner_file, read_file_bytes
from tui.intake.fields import HEADERS, IDENTIFIER_FIELD
from tui.intake.limits import Limits
from tui.intake.report import SKIP_CODES, Issue, Problem, Report
from tui.intake.rules import (
    DATES_SCHEMA,
    INPUT_SCHEMA,
    ISSUE_SCHEMA,
    check_learners,
    learners_frame,
    map_header,
)
from tui.intake.safety import CHECKING, READING, Guard, guarded
from tui.intake.table import NotUtf8, Table, TableError, read_csv_table, read_xlsx_table
from tui.intake.xlsx import SheetFacts, check_workbook

# The checked learners: `check_learners`' input (a column per learner field) and the address
# as email-validator normalizes it.
LEARNER_SCHEMA: dict[str, pl.DataType] = {**INPUT_SCHEMA, "email_normalized": pl.String()}


@dataclass(frozen=True)
class LearnerFile:
    """What a learner file holds: the report, every non-blank row, and every row issue.

    `summary` is the report without its issues, which live in the `issues` frame: `report` makes
    them objects when first asked, and `report_json` writes them without (20,000 issue objects
    cost more than checking 100,000 rows).
    """

    summary: Report
    learners: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=LEARNER_SCHEMA))
    issues: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=ISSUE_SCHEMA))
    width: int = len(HEADERS)  # columns in the header row
    path: Path | None = None
    # The header row's cells, when the file had one: what a column chooser offers.
    header: tuple[str, ...] = ()
    # The rows the admin left out on the preview (`learners`' columns): not checked, not sent,
    # not invited, but shown and reported as left out (tui.intake.edits).
    left_out: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=LEARNER_SCHEMA))
    # The rows whose External ID a workbook held as a date (rules.DATES_SCHEMA), checked again
    # on every recheck.
    excel_dates: pl.DataFrame | None = None

    @cached_property
    def report(self) -> Report:
        """The whole report, every issue included. Made a slice at a time: pydantic holds the
        interpreter's lock while it works, and the app's event loop must get it back often."""
        adapter = _issue_list()
        issues = [
            issue
            for part in self.issues.iter_slices(_ISSUES_AT_ONCE)
            for issue in adapter.validate_json(part.write_json())
        ]
        return self.summary.model_copy(update={"issues": issues})

    def report_json(self) -> str:
        """`report.model_dump_json()`, the same text, with the issues written from the frame."""
        out = io.BytesIO()
        self.write_report_json(out)
        return out.getvalue().decode().removesuffix("\n")

    def write_report_json(self, out: BinaryIO) -> None:
        """`report_json()` and a newline, written to `out` as UTF-8: a million issues are
        180 MB, and made a str first they take three times as long (1.2 s)."""
        summary = self.summary.model_dump_json(exclude={"issues"})
        out.write(f'{summary[:-1]},"issues":['.encode())
        # A slice at a time: polars makes the whole text before writing it.
        for number, part in enumerate(self.issues.iter_slices(_ISSUES_WRITTEN_AT_ONCE)):
            text = part.write_json().encode()
            out.write(text[1:-1] if number == 0 else b"," + text[1:-1])
        out.write(b"]}\n")

    def recheck(self, learners: pl.DataFrame, left_out: pl.DataFrame | None = None) -> LearnerFile:
        """The same file with edited learner rows, checked again as a whole (duplicates too);
        `left_out` the rows left out now (by default those left out before)."""
        left_out = self.left_out if left_out is None else left_out
        report = self.summary.model_copy(update={"issues": [], "skipped": 0})
        checked = _checked(
            report,
            learners.select(*_INPUT_COLUMNS),
            self.width,
            left_out=left_out.height,
            excel_dates=self.excel_dates,
        )
        return replace(checked, path=self.path, left_out=left_out)


_ISSUES_AT_ONCE = 2_000
_ISSUES_WRITTEN_AT_ONCE = 50_000


@cache
def _issue_list() -> TypeAdapter[list[Issue]]:
    return TypeAdapter(list[Issue])  # built when first used: `roster check` needs none


def read_learner_file(
    path: Path, limits: Limits | None = None, columns: ColumnChoices | None = None
) -> LearnerFile:
    """Read, decode and check a learner file. Never raises for anything in the file.

    `columns` names the file's column for some fields (field header -> the file's header, as
    `roster import --column` gives them); the others are found by their header or an alias.

    The guards name each known trap; anything none of them foresaw - an exception, or a
    library's native panic - still ends in a file error (`internal_error`, see
    tui.intake.safety) that says how far the reading got, rather than a traceback.
    """
    limits = limits or Limits()
    with guarded(READING) as guard:
        return _read(path, limits, guard, columns or {})
    return _failed(Report(file=path.name), guard.problem)


def _formulas_without_value(facts: SheetFacts) -> Problem:
    cells = ", ".join(facts.formulas)
    more = facts.formula_count - len(facts.formulas)
    if more:
        cells += f" and {more:,} more"
    what = (
        f"Cell {cells} holds a formula with no saved result, so Roster reads it"
        if facts.formula_count == 1
        else f"Cells {cells} hold formulas with no saved result, so Roster reads them"
    )
    return Problem(
        code="formula_without_value",
        message=f"{what} as empty (the program that wrote the file did not calculate "
        "formulas). Open the file in Excel and save it, or paste the values as values.",
    )


def _encoding_warnings(decoded: TextFile) -> list[Problem]:
    if decoded.encoding != "cp1252":
        return []
    return [
        Problem(
            code="legacy_encoding",
            message="The file is not UTF-8, so it was read as Windows-1252. Check "
            "that accented names look right; in Excel, save as CSV UTF-8 to be sure.",
        )
    ]


def _read(path: Path, limits: Limits, guard: Guard, columns: ColumnChoices) -> LearnerFile:
    report = Report(file=path.name)
    table = _read_table(path, limits, report)
    if isinstance(table, Problem):
        return _failed(report, table)
    if table is None:
        return _failed(
            report,
            Problem(
                code="empty_file",
                message="The file has no header and no rows. Fill in the template: the header "
                f"row {', '.join(HEADERS)}, then one row per learner.",
            ),
        )
    guard.rows = table.cells.height
    report.delimiter = table.delimiter
    report.file_warnings.extend(table.warnings)
    header = map_header(table, columns)
    report.file_warnings.extend(header.warnings)
    report.columns = header.renamed
    report.blank_rows_skipped = table.blank_rows
    if header.errors:
        report.file_errors.extend(header.errors)
        return LearnerFile(summary=report, header=tuple(table.header))
    if table.cells.height == 0:
        return _failed(
            report,
            Problem(
                code="no_rows",
                message=f"The file has a header (row {table.header_row}) but no learners. "
                "Add one row per learner below the header.",
            ),
        )
    if table.cells.height > limits.max_rows:
        return _failed(
            report,
            Problem(
                code="too_many_rows",
                message=f"The file has {table.cells.height:,} learner rows; the limit is "
                f"{limits.max_rows:,}. Split it into files of at most {limits.max_rows:,} rows.",
            ),
        )

    guard.step = CHECKING
    excel_dates = _identifier_dates(table, header.columns)
    checked = _checked(
        report, learners_frame(table, header.columns), len(table.header), excel_dates=excel_dates
    )
    return replace(checked, path=path)


def _identifier_dates(table: Table, columns: dict[str, int]) -> pl.DataFrame | None:
    """The workbook's date cells in the External ID column (rules.DATES_SCHEMA), or None."""
    column = columns.get(IDENTIFIER_FIELD.header)
    dated = [(row, text) for row, index, text in table.dates if index == column]
    if not dated:
        return None
    return pl.DataFrame(dated, schema=DATES_SCHEMA, orient="row")


def read_cells(path: Path, limits: Limits) -> Table | Problem | None:
    """The cells of any sheet Roster reads, as it reads a learner file (encodings, delimiters,
    quoting, .xlsx), without the learner checks: for a file that names learners by one column.
    None when it holds no non-blank record."""
    return _read_table(path, limits, Report(file=path.name))


def _read_table(path: Path, limits: Limits, report: Report) -> Table | Problem | None:
    """The file's cells, or the file error. The file's bytes live only in here: the cells are
    all that is kept."""
    data = read_file_bytes(path, limits.max_bytes)
    if isinstance(data, Problem):
        return data
    decoded = decode_learner_file(data, path.name, limits.max_bytes)
    if isinstance(decoded, Problem):
        return decoded
    if isinstance(decoded, TextFile):
        report.encoding = decoded.encoding
        report.file_warnings.extend(_encoding_warnings(decoded))
    try:
        if isinstance(decoded, TextFile):
            try:
                return read_csv_table(decoded.data, decoded.start)
            except NotUtf8:
                decoded = decode_learner_file(data, path.name, limits.max_bytes, assume_utf8=False)
                if isinstance(decoded, Problem):
                    return decoded
                assert isinstance(decoded, TextFile)
                del data  # the file as it was: only its UTF-8 copy is read from here on
                report.encoding = decoded.encoding
                report.file_warnings.extend(_encoding_warnings(decoded))
                return read_csv_table(decoded.data, decoded.start)
        facts = check_workbook(decoded.data, path.name, limits.max_bytes, limits.max_rows)
        if isinstance(facts, Problem):
            return facts
        if facts.formula_count:
            report.file_warnings.append(_formulas_without_value(facts))
        return read_xlsx_table(decoded.data, path.name, facts.zero_padded)
    except TableError as error:
        return error.problem


_INPUT_COLUMNS = tuple(INPUT_SCHEMA)


def _checked(
    report: Report,
    learners: pl.DataFrame,
    width: int,
    left_out: int = 0,
    excel_dates: pl.DataFrame | None = None,
) -> LearnerFile:
    learners, issues = check_learners(learners, width=width, excel_dates=excel_dates)
    report.rows = learners.height + left_out
    report.left_out = left_out
    report.errors = issues.filter(pl.col("severity") == "error")["row"].n_unique()
    report.ready = report.rows - report.errors - report.skipped - left_out
    report.warnings = warning_rows(issues).len()
    return LearnerFile(
        summary=report, learners=learners, issues=issues, width=width, excel_dates=excel_dates
    )


def warning_rows(issues: pl.DataFrame) -> pl.Series:
    """The ready rows with a warning (tui.intake.counts.WARNINGS): rows with a warning and
    neither an error nor a skip."""
    skip = pl.col("code").is_in(SKIP_CODES)
    not_ready = issues.filter((pl.col("severity") == "error") | skip)["row"]
    warned = issues.filter(
        (pl.col("severity") == "warning") & ~skip & ~pl.col("row").is_in(not_ready.implode())
    )
    return warned["row"].unique()


def _failed(report: Report, problem: Problem) -> LearnerFile:
    report.file_errors.append(problem)
    return LearnerFile(summary=report)
