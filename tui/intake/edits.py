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


def leave_out_row(learner_file: LearnerFile, row: int) -> LearnerFile:
    """The file without row `row`, checked again; `OnlyRowError` when it is the only row."""
    if not can_leave_out(learner_file):
        raise OnlyRowError(f"Row {row} is the only row.")
    return learner_file.recheck(learner_file.learners.filter(pl.col("row") != row))
