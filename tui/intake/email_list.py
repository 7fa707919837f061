"""A list of learners' emails from a file: the Email column of a sheet (a learner file, an
export, any CSV or .xlsx Roster reads), or a plain list of one address a line."""

from __future__ import annotations

from pathlib import Path

from tui.intake.fields import EMAIL_FIELD
from tui.intake.learner_file import read_cells
from tui.intake.limits import Limits
from tui.intake.report import Problem
from tui.intake.table import HEADER_KEYS, header_key


def read_email_list(path: Path, limits: Limits) -> list[str] | Problem:
    """The emails the file lists, in its order, blanks left out; or the file error.

    A file whose first non-blank row has an Email column (its header, any case, or an alias)
    gives that column's cells; a file of one column without that header gives every line, its
    first included; any other file is `missing_header`."""
    table = read_cells(path, limits)
    if isinstance(table, Problem):
        return table
    if table is None:
        return Problem(
            code="empty_file",
            message=f"{path.name} lists no email: write one address a line, or give it an "
            f"{EMAIL_FIELD.header} column.",
        )
    columns = [
        index
        for index, cell in enumerate(table.header)
        if HEADER_KEYS.get(header_key(cell)) == EMAIL_FIELD.header
    ]
    if columns:
        emails = table.cells[f"c{columns[0]}"].to_list()
    elif len(table.header) == 1:
        emails = [table.header[0], *table.cells["c0"].to_list()]
    else:
        return Problem(
            code="missing_header",
            message=f"{path.name} has {len(table.header)} columns and none is named "
            f"{EMAIL_FIELD.header}: name the column of addresses {EMAIL_FIELD.header}, or "
            "list one address a line.",
        )
    return [email for email in emails if email]
