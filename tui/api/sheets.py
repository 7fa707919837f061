"""Sheets back from the service's records, written the same by the app and the command line:
an import's results, one line per row of its file with its outcome and why."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TextIO

from tui.intake.export import neutralize
from tui.intake.fields import HEADERS
from tui.wire import models as wire

RESULT_HEADERS = ("Row", *HEADERS, "Outcome", "Reason")


def write_import_results(results: wire.ImportResults, out: TextIO) -> None:
    """The results as CSV (CRLF) under the template's headers plus Row, Outcome and Reason;
    cells a spreadsheet would run as formulas neutralized as in the error file."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(RESULT_HEADERS)
    columns = (
        results.row,
        results.full_name,
        results.email,
        results.external_id,
        results.outcome,
        results.reason,
    )
    for line in zip(*columns, strict=True):
        writer.writerow([neutralize("" if cell is None else str(cell)) for cell in line])


def save_import_results(results: wire.ImportResults, path: Path, *, replace: bool = False) -> None:
    """The results to `path`: UTF-8 with a BOM, as the error file, for Excel's accents; an
    existing file only when `replace` says the admin chose to (FileExistsError otherwise)."""
    with path.open("w" if replace else "x", newline="", encoding="utf-8-sig") as handle:
        write_import_results(results, handle)
