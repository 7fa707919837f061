"""Sheets back: an import's results as CSV, one line per row of its file with its outcome, to
standard output or a new file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tui.outcome import Exit, Failure
from tui.text import plural

if TYPE_CHECKING:
    from tui.settings import Settings
    from tui.wire import models as wire


async def import_results(settings: Settings, import_id: int, path: Path | None) -> int:
    """`roster imports results ID [--output FILE]`: never over an existing file."""
    from tui.cli.client import connect

    async with connect(settings) as client:
        results = await client.import_results(import_id)
    if path is None:
        write_results(results, sys.stdout)
        return Exit.OK
    try:
        # UTF-8 with a BOM, as the error file: Excel opens it with its accents.
        with path.open("x", newline="", encoding="utf-8-sig") as handle:
            write_results(results, handle)
    except FileExistsError:
        raise Failure(
            "file_exists",
            f"{path} is there already; Roster does not write over a file. Name another one.",
            path=str(path),
        ) from None
    except OSError as error:
        raise Failure(
            "cannot_write", f"Cannot write {path}: {error.strerror}.", path=str(path)
        ) from None
    print(f"{plural(len(results), 'row')} of import {import_id} saved to {path}", file=sys.stderr)
    return Exit.OK


def write_results(results: wire.ImportResults, out: object) -> None:
    """The results as CSV under the template's headers plus Row, Outcome and Reason; cells a
    spreadsheet would run as formulas neutralized as in the error file."""
    import csv

    from tui.cli.output import csv_cell
    from tui.intake.fields import HEADERS

    writer = csv.writer(out, lineterminator="\r\n")  # type: ignore[arg-type]
    writer.writerow(["Row", *HEADERS, "Outcome", "Reason"])
    columns = (
        results.row,
        results.full_name,
        results.email,
        results.external_id,
        results.outcome,
        results.reason,
    )
    for line in zip(*columns, strict=True):
        writer.writerow([csv_cell(cell) for cell in line])
