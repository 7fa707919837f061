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


async def import_results(settings: Settings, import_id: int, path: Path | None) -> int:
    """`roster imports results ID [--output FILE]`: never over an existing file."""
    from tui.cli.client import connect

    async with connect(settings) as client:
        results = await client.import_results(import_id)
    from tui.api.sheets import save_import_results, write_import_results

    if path is None:
        write_import_results(results, sys.stdout)
        return Exit.OK
    try:
        save_import_results(results, path)
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
