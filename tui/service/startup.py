"""What stops Roster from starting on a data directory or a database, told as a Failure.

The embedded service (which the app and the commands start) and the operators' commands (serve,
worker, migrate, admin) open the same data directory and databases: a file where the directory
should be, a damaged or foreign database, a schema this Roster does not run on, each end with one
message naming it (password masked), never a traceback. sqlalchemy is imported only once a
database is opened.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.config_file import SettingsProblem
from tui.outcome import Failure
from tui.urls import mask_url

if TYPE_CHECKING:
    from tui.service.runtime import EmbeddedService
    from tui.service.schema import SchemaMismatch


def check_data_dir(path: Path) -> None:
    """The data directory can hold Roster's database: a directory we can write, or creatable."""
    where = "Choose another with --data-dir or ROSTER_DATA_DIR."
    if path.exists() and not path.is_dir():
        raise Failure(
            "bad_data_dir",
            f"The data directory {path} is a file, not a directory. {where}",
            path=str(path),
        )
    existing = next((parent for parent in (path, *path.parents) if parent.exists()), None)
    if existing is not None and os.statvfs(existing).f_flag & os.ST_RDONLY:
        from tui.outcome import Exit

        raise Failure(
            "read_only",
            f"{existing} is on a read-only file system, so Roster cannot keep its data in "
            f"{path}. Remount it read-write, or {where[0].lower() + where[1:]}",
            Exit.STORAGE,
            path=str(path),
        )
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        raise Failure(
            "bad_data_dir",
            f"Roster cannot write in {existing}, so it cannot keep its data in {path}. "
            f"Give yourself write access, or {where[0].lower() + where[1:]}",
            path=str(path),
        )


def start_embedded(service: EmbeddedService) -> EmbeddedService:
    """Start the embedded service; a damaged or foreign database is a Failure naming it."""
    from sqlalchemy.exc import DatabaseError

    from tui.service.schema import SchemaMismatch

    try:
        return service.start()
    except SchemaMismatch as mismatch:
        raise schema_failure(mismatch, service.settings.resolved_database_url()) from None
    except DatabaseError as error:
        database = service.settings.resolved_database_url()
        reason = str(error.orig or error).splitlines()[0]
        fault = storage_failure(error, database)
        if fault is not None:
            raise fault from None
        if not database.startswith("sqlite:///"):
            raise Failure(
                "bad_database",
                f"Cannot use the database {mask_url(database)}: {reason}.",
                database=mask_url(database),
            ) from None
        raise damaged_failure(Path(database.removeprefix("sqlite:///")), reason) from None
    except ValueError as error:  # a mail URL or sender the service cannot use
        raise Failure("bad_setting", str(error)) from None
    except SettingsProblem as problem:  # no usable secret key
        raise Failure("bad_setting", problem.message, **problem.details) from None
    except OSError as error:
        fault = storage_failure(error, service.settings.resolved_database_url())
        if fault is not None:
            raise fault from None
        raise Failure(
            "bad_data_dir",
            f"Cannot use the data directory {service.settings.data_dir}: {error.strerror}.",
            path=str(service.settings.data_dir),
        ) from None


# The files of one SQLite database: its committed changes may still be in the -wal file.
SQLITE_FILES = ("", "-wal", "-shm")


def database_files(path: Path) -> list[Path]:
    """The database file and its write-ahead log and shared-memory index: moved, copied or
    deleted, they go together, or committed changes are lost."""
    return [path.with_name(path.name + suffix) for suffix in SQLITE_FILES]


def integrity(path: Path) -> str | None:
    """What SQLite's quick_check says of the database at `path`, read-only: "ok" when it is
    sound, its first complaint when it is damaged, None when it could not be checked (so
    nothing is known: no advice to move it)."""
    import sqlite3

    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return None
    try:
        rows = connection.execute("PRAGMA quick_check").fetchall()
        return "ok" if rows == [("ok",)] else str(rows[0][0])
    except sqlite3.DatabaseError as error:
        code = getattr(error, "sqlite_errorname", "")
        # Not a database at all, or a malformed one: the check's verdict is "damaged".
        return str(error) if code in ("SQLITE_NOTADB", "SQLITE_CORRUPT") else None
    finally:
        connection.close()


def damaged_failure(path: Path, reason: str) -> Failure:
    """A SQLite database Roster could not open: moving it aside is advised only once SQLite's
    own check finds it damaged, and then with every file that belongs to it. One that lacks a
    table or column of Roster's schema at its revision was changed outside Roster: SQLite finds
    it sound, and its backup mends it."""
    from tui.service.storage import MISSING

    if reason.startswith(MISSING):
        return Failure(
            "bad_database",
            f"The database {path} lacks part of Roster's schema ({reason}): it was changed "
            "outside Roster. Restore a backup with `roster restore BACKUP`.",
            path=str(path),
        )
    verdict = integrity(path)
    if verdict is None or verdict == "ok":
        checked = (
            "SQLite's integrity check finds it sound"
            if verdict == "ok"
            else "Roster could not check it"
        )
        return Failure(
            "bad_database",
            f"Roster cannot use the database {path} ({reason}); {checked}. Do not move or "
            "delete it: fix what stops it (space, permissions, another program holding it), "
            "then try again.",
            path=str(path),
        )
    files = database_files(path)
    names = ", ".join(str(file) for file in files[:-1]) + f" and {files[-1]}"
    return Failure(
        "bad_database",
        f"The database {path} is damaged (SQLite's integrity check: {verdict}). Restore a "
        f"backup with `roster restore BACKUP`, or move {names} aside together (the -wal file "
        "holds committed changes) and Roster starts a new, empty one.",
        path=str(path),
        files=[str(file) for file in files],
    )


def storage_failure(error: BaseException, url: str) -> Failure | None:
    """A storage fault that stopped a start or a command (`tui.service.storage`), told with
    its own code and exit status; None for any other error."""
    from tui.outcome import Exit
    from tui.service.db import make_engine
    from tui.service.storage import fault_message, storage_fault

    fault = storage_fault(error)
    if fault is None:
        return None
    engine = make_engine(url)
    try:
        message, details = fault_message(fault, engine, done="Nothing was done.")
    finally:
        engine.dispose()
    return Failure(fault.code, message, Exit.STORAGE, **details)


def schema_failure(mismatch: SchemaMismatch, url: str) -> Failure:
    """A database whose schema this Roster does not run on: what to do, password masked."""
    state, database = mismatch.state, mask_url(url)
    details: dict[str, Any] = {"database": database, "revision": state.current, "head": state.head}
    if state.newer:
        return Failure(
            "schema_too_new",
            f"The database {database} was migrated by a newer Roster (schema {state.current}; "
            f"this Roster knows up to {state.head}). Run that version of Roster or a newer one.",
            **details,
        )
    found = f"is at schema {state.current}" if state.current else "has no Roster schema yet"
    return Failure(
        "schema_out_of_date",
        f"The database {database} {found}; this Roster needs {state.head}. Bring it up to date "
        f"first: roster migrate --database-url {database}",
        **details,
    )


@contextlib.contextmanager
def database_failures(url: str) -> Iterator[None]:
    """A database Roster cannot use, or whose schema it does not run on, ends the command with
    a Failure naming it (password masked), never a traceback."""
    from sqlalchemy.exc import ArgumentError, DBAPIError

    from tui.service.schema import SchemaMismatch

    database = mask_url(url)
    try:
        yield
    except SchemaMismatch as mismatch:
        raise schema_failure(mismatch, url) from None
    except DBAPIError as error:
        fault = storage_failure(error, url)
        if fault is not None:
            raise fault from None
        reason = str(error.orig or error).strip().splitlines()[0]
        raise Failure(
            "bad_database", f"Cannot use the database {database}: {reason}.", database=database
        ) from None
    except ArgumentError as error:
        raise Failure(
            "bad_setting",
            f"The database URL {database} is not usable: {error}.",
            setting="database_url",
            value=database,
        ) from None
