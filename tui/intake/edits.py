"""What the admin changes in a learner file before importing it: a row's cells fixed, or a row
left out. Each gives the file checked again as a whole (a fix can end a duplicate elsewhere);
the file on disk is never changed."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from tui.intake.fields import LEARNER_FIELDS
from tui.intake.learner_file import LearnerFile


class OnlyRowError(ValueError):
    """Leaving out a file's only row would leave nothing to import."""


def edit_row(learner_file: LearnerFile, row: int, values: Mapping[str, str]) -> LearnerFile:
    """The file with the cells of row `row` set to `values` (by field name, trimmed as a file's
    cells are), checked again."""
    learners = learner_file.learners.with_columns(
        pl.when(pl.col("row") == row)
        .then(pl.lit(values[field.name].strip()))
        .otherwise(pl.col(field.name))
        .alias(field.name)
        for field in LEARNER_FIELDS
        if field.name in values
    )
    return learner_file.recheck(learners)


def can_leave_out(learner_file: LearnerFile) -> bool:
    """A row may be left out while another remains to import."""
    return learner_file.learners.height > 1


def is_left_out(learner_file: LearnerFile, row: int) -> bool:
    return bool((learner_file.left_out["row"] == row).any())


def leave_out_row(learner_file: LearnerFile, row: int) -> LearnerFile:
    """Row `row` left out of the import, or back in when it was left out already (the same key
    undoes it), and the file checked again: a left-out row is neither checked nor sent, and
    its duplicate elsewhere is no longer one. `OnlyRowError` when it is the only row left in."""
    left_out, learners = learner_file.left_out, learner_file.learners
    if is_left_out(learner_file, row):
        back = left_out.filter(pl.col("row") == row)
        return learner_file.recheck(_joined(learners, back), left_out.filter(pl.col("row") != row))
    if not can_leave_out(learner_file):
        raise OnlyRowError(f"Row {row} is the only row.")
    taken = learners.filter(pl.col("row") == row)
    return learner_file.recheck(learners.filter(pl.col("row") != row), _joined(left_out, taken))


def _joined(rows: pl.DataFrame, more: pl.DataFrame) -> pl.DataFrame:
    """Learner rows and `more` of them, in row order."""
    if rows.height == 0:
        return more
    return pl.concat([rows, more.select(rows.columns)], how="vertical_relaxed").sort("row")
