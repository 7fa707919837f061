"""Sheets back: an import's results as CSV, one line per row of its file with its outcome, to
standard output or a new file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tui.cli.output import writing_to
from tui.outcome import Exit
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
    with writing_to(path):
        save_import_results(results, path)
    print(f"{plural(len(results), 'row')} of import {import_id} saved to {path}", file=sys.stderr)
    return Exit.OK
