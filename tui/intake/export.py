"""The preview's rows and the error file: what each learner row's status is, and the rows with
issues written back in the template's layout, ready to be fixed and uploaded again."""

from __future__ import annotations

import csv
import itertools
import os
from pathlib import Path

import polars as pl

from tui.intake.counts import LEFT_OUT_REASON
from tui.intake.fields import FIELD_NAMES, HEADERS
from tui.intake.learner_file import LearnerFile
from tui.intake.report import FORMULA_PREFIXES, SKIP_CODES
from tui.intake.table import ERROR_HEADER


def preview_frame(checked: LearnerFile) -> pl.DataFrame:
    """One line per learner row: `row`, its cells, `issue` (every message of the row),
    `bad_column` (the column of its worst issue) and `status`, the worst of: error, skipped (the
    service's skip codes), warning, ready; or left_out for a row the admin left out. `checked`
    is the file with the service's checks (importer.dry_run), or as read when the service was
    not asked."""
    issues = checked.issues
    rank = (
        pl.when(pl.col("severity") == "error")
        .then(0)
        .when(pl.col("code").is_in(SKIP_CODES))
        .then(1)
        .otherwise(2)
    )
    per_row = (
        issues.with_columns(rank.alias("rank"))
        .sort("row", "rank")
        .group_by("row", maintain_order=True)
        .agg(
            pl.col("rank").first(),
            pl.col("message").str.join("  ").alias("issue"),
            pl.col("column").first().alias("bad_column"),
        )
    )
    status = (
        pl.when(pl.col("rank") == 0)
        .then(pl.lit("error"))
        .when(pl.col("rank") == 1)
        .then(pl.lit("skipped"))
        .when(pl.col("rank") == 2)
        .then(pl.lit("warning"))
        .otherwise(pl.lit("ready"))
    )

    # Added beside the learners' own columns, which are shared rather than copied as a join would.
    def lookup(column: str, dtype: pl.DataType) -> pl.Expr:
        return pl.col("row").replace_strict(
            per_row["row"], per_row[column], default=None, return_dtype=dtype
        )

    frame = (
        checked.learners.select("row", *FIELD_NAMES)
        .with_columns(
            lookup("rank", pl.Int32()).alias("rank"),
            lookup("issue", pl.String()).fill_null("").alias("issue"),
            lookup("bad_column", pl.String()).alias("bad_column"),
        )
        .with_columns(status.alias("status"))
        .drop("rank")
    )
    if checked.left_out.height == 0:
        return frame
    left_out = checked.left_out.select(
        pl.col("row").cast(frame["row"].dtype),
        *FIELD_NAMES,
        pl.lit(LEFT_OUT_REASON).alias("issue"),
        pl.lit(None, dtype=pl.String).alias("bad_column"),
        pl.lit("left_out").alias("status"),
    )
    return pl.concat([frame, left_out], how="vertical_relaxed").sort("row")


# A tab or a carriage return first makes some spreadsheets read a formula after it (OWASP); no
# cell the intake reads starts with one (it trims them), but Roster's other sheets may.
_ALSO_FORMULA_LEADS = ("\t", "\r")


def neutralize(value: str) -> str:
    """A cell a spreadsheet would run as a formula, made plain text (OWASP CSV injection); the
    intake takes the apostrophe off again when the file comes back."""
    return "'" + value if value.startswith(FORMULA_PREFIXES + _ALSO_FORMULA_LEADS) else value


def errors_file_for(source: Path) -> Path:
    """Where the rows with issues of `source` go unless the admin says otherwise: beside the
    file (in the working folder when that folder cannot be written), as `<name>-errors.csv`,
    or `-errors-2.csv` and so on: never over a file that is there already."""
    folder = source.parent if os.access(source.parent, os.W_OK) else Path.cwd()
    for number in itertools.count(1):
        suffix = "" if number == 1 else f"-{number}"
        target = folder / f"{source.stem}-errors{suffix}.csv"
        if not target.exists():
            return target
    raise AssertionError("unreachable")


def export_issues(frame: pl.DataFrame, target: Path, *, replace: bool = False) -> Path:
    """The rows of a `preview_frame` with issues, in the template's layout plus Error, written
    to `target` (see `write_rows_with_errors`)."""
    rows = frame.filter(pl.col("status") != "ready").rename({"issue": "error"})
    return write_rows_with_errors(rows, target, replace=replace)


def write_rows_with_errors(rows: pl.DataFrame, target: Path, *, replace: bool = False) -> Path:
    """`rows` (`row`, the learner fields, `error`) in the template's layout plus Error, to
    `target`: UTF-8 with BOM and CRLF, as Excel writes CSV; formulas neutralized. An existing
    file is replaced only when `replace` says the admin chose to (FileExistsError otherwise)."""
    with target.open("w" if replace else "x", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow([*HEADERS, ERROR_HEADER])
        for row in rows.iter_rows(named=True):
            cells = [neutralize(row[name] or "") for name in FIELD_NAMES]
            writer.writerow([*cells, f"Row {row['row']}: {row['error']}"])
    return target
