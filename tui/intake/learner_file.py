"""Read and check a learner file end to end: path -> report, learners and issues."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl
from pydantic import TypeAdapter

from tui.intake.decode import TextFile, decode_learner_file, read_file_bytes
from tui.intake.report import Issue, Problem, Report
from tui.intake.rules import ISSUE_SCHEMA, check_learners, learners_frame, map_header
from tui.intake.table import read_csv_table, read_xlsx_table

_ISSUES = TypeAdapter(list[Issue])
DEFAULT_MAX_BYTES = 200_000_000
DEFAULT_MAX_ROWS = 1_000_000
LEARNER_SCHEMA = {
    "row": pl.UInt32,
    "full_name": pl.String,
    "email": pl.String,
    "external_id": pl.String,
    "overflow": pl.Int32,
    "email_normalized": pl.String,
}


@dataclass(frozen=True)
class Limits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_rows: int = DEFAULT_MAX_ROWS


@dataclass(frozen=True)
class LearnerFile:
    """What a learner file holds: the report, every non-blank row, and every row issue."""

    report: Report
    learners: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=LEARNER_SCHEMA))
    issues: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=ISSUE_SCHEMA))
    width: int = 3  # columns in the header row
    path: Path | None = None

    def recheck(self, learners: pl.DataFrame) -> LearnerFile:
        """The same file with edited learner rows, checked again as a whole (duplicates too)."""
        report = self.report.model_copy(update={"issues": [], "skipped": 0})
        checked = _checked(report, learners.select(*_INPUT_COLUMNS), self.width)
        return replace(checked, path=self.path)


def read_learner_file(path: Path, limits: Limits | None = None) -> LearnerFile:
    """Read, decode and check a learner file. Never raises for anything in the file."""
    limits = limits or Limits()
    report = Report(file=path.name)
    data = read_file_bytes(path, limits.max_bytes)
    if isinstance(data, Problem):
        return _failed(report, data)
    decoded = decode_learner_file(data, path.name)
    if isinstance(decoded, Problem):
        return _failed(report, decoded)
    del data

    if isinstance(decoded, TextFile):
        report.encoding = decoded.encoding
        if decoded.encoding == "cp1252":
            report.file_warnings.append(
                Problem(
                    code="legacy_encoding",
                    message="The file is not UTF-8, so it was read as Windows-1252. Check "
                    "that accented names look right; in Excel, save as CSV UTF-8 to be sure.",
                )
            )
        table = read_csv_table(decoded.data)
    else:
        table = read_xlsx_table(decoded.data)
    if table is None:
        return _failed(
            report,
            Problem(
                code="empty_file",
                message="The file has no header and no rows. Fill in the template: the header "
                "row Full Name, Email, External ID, then one row per learner.",
            ),
        )
    report.delimiter = table.delimiter
    header = map_header(table)
    report.file_warnings.extend(header.warnings)
    report.blank_rows_skipped = table.blank_rows
    if header.errors:
        report.file_errors.extend(header.errors)
        return LearnerFile(report=report)
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

    checked = _checked(report, learners_frame(table, header.columns), len(table.header))
    return replace(checked, path=path)


_INPUT_COLUMNS = ("row", "full_name", "email", "external_id", "overflow")


def _checked(report: Report, learners: pl.DataFrame, width: int) -> LearnerFile:
    learners, issues = check_learners(learners, width=width)
    report.rows = learners.height
    report.errors = issues.filter(pl.col("severity") == "error")["row"].n_unique()
    report.ready = report.rows - report.errors - report.skipped
    report.issues = _ISSUES.validate_json(issues.write_json())
    return LearnerFile(report=report, learners=learners, issues=issues, width=width)


def _failed(report: Report, problem: Problem) -> LearnerFile:
    report.file_errors.append(problem)
    return LearnerFile(report=report)
