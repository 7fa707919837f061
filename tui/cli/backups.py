"""`roster backup PATH` and `roster restore PATH`: the embedded SQLite database copied whole and
consistent while Roster runs, and put back once checked. A PostgreSQL deployment uses pg_dump and
pg_restore (DEPLOY.md)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from tui.cli.options import batch_settings
from tui.cli.output import output_of, print_json
from tui.outcome import Exit, Failure
from tui.text import plural

if TYPE_CHECKING:
    from tui.settings import Settings


def _database(settings: Settings, command: str) -> Path:
    """The data directory's SQLite database; a PostgreSQL one is refused with its own tools."""
    url = settings.resolved_database_url()
    if not url.startswith("sqlite:///"):
        raise Failure(
            "not_sqlite",
            f"roster {command} copies the embedded SQLite database; this Roster uses "
            "PostgreSQL: use pg_dump and pg_restore (see DEPLOY.md, Backups).",
        )
    return Path(url.removeprefix("sqlite:///"))


def backup(options: argparse.Namespace) -> int:
    settings = batch_settings(options)
    from tui.service.backup import backup as copy
    from tui.service.storage import size_text

    done = copy(_database(settings, "backup"), Path(options.path))
    if output_of(options) == "json":
        print_json(
            {
                "path": str(done.path),
                "bytes": done.size,
                "revision": done.revision,
                "invitations": done.invitations,
            }
        )
        return Exit.OK
    print(
        f"Backed up to {done.path} ({size_text(done.size)}, schema {done.revision}, "
        f"{plural(done.invitations, 'invitation')}). Restore it with: roster restore {done.path}"
    )
    return Exit.OK


def restore(options: argparse.Namespace) -> int:
    settings = batch_settings(options)
    from tui.service.backup import restore as put_back
    from tui.service.storage import size_text

    done = put_back(Path(options.path), _database(settings, "restore"))
    kept = [str(path) for path in done.kept]
    if output_of(options) == "json":
        print_json(
            {
                "path": str(done.path),
                "bytes": done.size,
                "revision": done.revision,
                "invitations": done.invitations,
                "replaced_files_kept": kept,
                "in_use_checked": not done.in_use_unknown,
            }
        )
        return Exit.OK
    print(
        f"Restored {done.path} from {options.path} ({size_text(done.size)}, schema "
        f"{done.revision}, {plural(done.invitations, 'invitation')})."
    )
    if kept:
        print(f"The database it replaced is kept as {', '.join(kept)}.")
    if done.in_use_unknown:
        print(
            "Roster could not tell whether another process had the database open (no /proc "
            "here): make sure no Roster ran on it, or restore again once none does."
        )
    return Exit.OK
