"""Faults of the storage under the database, each named for what it is.

A full disk, a read-only file system, a file size limit and a failing disk are no busy database:
retrying in a moment changes nothing, and the admin or operator has something to do. Each gets
its own code, HTTP status and message: what happened, where, how much space is free and needed
when known, and what to do. SQLite reports them as result codes (SQLITE_FULL, SQLITE_READONLY,
SQLITE_IOERR), PostgreSQL as SQLSTATEs (53100, 25006, 58030), files as errno values.
"""

from __future__ import annotations

import errno
import resource
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

# SQLite's primary result codes (the low byte of an extended one).
SQLITE_ERROR = 1
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_NOTADB = 26
# What SQLite says (with SQLITE_ERROR) of a table or column the schema should have.
MISSING = ("no such table", "no such column")
# PostgreSQL's SQLSTATEs for the same faults.
PG_DISK_FULL = "53100"
PG_READ_ONLY = "25006"
PG_IO_ERROR = "58030"
# A committed import's database and write-ahead log, per invited learner, while it commits:
# 100,000 learners grew roster.db by 55 MB, and the log holds as much until it is folded in.
BYTES_PER_INVITATION = 1_200


@dataclass(frozen=True, slots=True)
class StorageFault:
    """What kind of storage fault an error is: its problem `code` and HTTP `status`."""

    code: str
    status: int
    title: str


DISK_FULL = StorageFault("disk_full", 507, "Disk full")
READ_ONLY = StorageFault("read_only", 503, "Read-only storage")
FILE_TOO_LARGE = StorageFault("file_too_large", 507, "File size limit")
IO_ERROR = StorageFault("io_error", 503, "Storage I/O error")
_ERRNO = {
    errno.ENOSPC: DISK_FULL,
    errno.EDQUOT: DISK_FULL,
    errno.EROFS: READ_ONLY,
    errno.EFBIG: FILE_TOO_LARGE,
    errno.EIO: IO_ERROR,
}


def storage_fault(error: BaseException) -> StorageFault | None:
    """The storage fault `error` reports (a SQLAlchemy error, the driver's own, an OSError),
    or None when it is something else."""
    cause = _driver_error(error)
    if isinstance(cause, sqlite3.Error):
        primary = getattr(cause, "sqlite_errorcode", 0) & 0xFF
        if primary == SQLITE_FULL:
            return DISK_FULL
        if primary == SQLITE_READONLY:
            return READ_ONLY
        if primary == SQLITE_IOERR:
            # SQLite reports a write past the file size limit (EFBIG) as a write error.
            return FILE_TOO_LARGE if _at_size_limit() else IO_ERROR
        return None
    sqlstate = getattr(cause, "sqlstate", None)
    if isinstance(sqlstate, str):
        return {PG_DISK_FULL: DISK_FULL, PG_READ_ONLY: READ_ONLY, PG_IO_ERROR: IO_ERROR}.get(
            sqlstate
        )
    if isinstance(cause, OSError) and cause.errno is not None:
        return _ERRNO.get(cause.errno)
    return None


def database_damaged(error: BaseException) -> str | None:
    """SQLite's own words when the database is damaged or is not Roster's (a malformed file,
    not a database, a table or column of Roster's schema missing), else None. No passing
    state either: trying again changes nothing, and the database needs its backup."""
    cause = _driver_error(error)
    if not isinstance(cause, sqlite3.Error):
        return None
    said = (str(cause) or type(cause).__name__).splitlines()[0][:200]
    primary = getattr(cause, "sqlite_errorcode", 0) & 0xFF
    if primary in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return said
    if primary == SQLITE_ERROR and said.startswith(MISSING):
        return said
    return None


def _driver_error(error: BaseException) -> BaseException:
    """The database driver's own error under SQLAlchemy's wrapping, or `error` itself."""
    return error.orig if isinstance(error, DBAPIError) and error.orig is not None else error


def _at_size_limit() -> bool:
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    return soft != resource.RLIM_INFINITY


def database_path(engine: Engine) -> Path | None:
    """The SQLite database's file, or None for PostgreSQL (or an in-memory database)."""
    if engine.dialect.name != "sqlite" or not engine.url.database:
        return None
    return Path(engine.url.database)


def give_back_log_space(engine: Engine) -> None:
    """Fold SQLite's write-ahead log into the database and truncate it: after a failed large
    transaction the log holds its pages and the disk's room. Best effort (a reader may hold
    the log; PostgreSQL needs nothing)."""
    if database_path(engine) is None:
        return
    try:
        raw = engine.raw_connection()
    except Exception:  # the pool has no connection to spare: the next start does it
        return
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
    except sqlite3.Error:
        pass
    finally:
        raw.close()


def free_bytes(path: Path) -> int | None:
    """The space left on the file system holding `path` (its folder when it does not exist)."""
    for folder in (path, *path.parents):
        if folder.exists():
            try:
                return shutil.disk_usage(folder).free
            except OSError:
                return None
    return None


def size_text(count: int) -> str:
    """Bytes as people read them: 512 bytes, 38.2 MB, 1.4 GB."""
    if count < 1000:
        return f"{count} bytes"
    for unit, scale in (("kB", 1e3), ("MB", 1e6), ("GB", 1e9)):
        if count < scale * 1000:
            return f"{count / scale:.1f} {unit}"
    return f"{count / 1e12:.1f} TB"


def fault_message(
    fault: StorageFault, engine: Engine, needed: int | None = None, done: str = ""
) -> tuple[str, dict[str, object]]:
    """What to tell about `fault` on `engine`'s database: the message and its details (`path`
    or `database`, `free_bytes`, `needed_bytes`). `done` says what the fault left undone."""
    path = database_path(engine)
    where = str(path) if path else engine.url.render_as_string(hide_password=True)
    details: dict[str, object] = {"path" if path else "database": where}
    undone = done or "Nothing of this request was stored."
    if fault is DISK_FULL:
        free = free_bytes(path) if path else None
        space = ""
        if free is not None:
            details["free_bytes"] = free
            space = f" ({size_text(free)} free now)"
        need = ""
        if needed is not None:
            details["needed_bytes"] = needed
            need = f" (this needs about {size_text(needed)})"
        place = f"The disk holding {where}" if path else f"The database server of {where}"
        return (
            f"{place} ran out of space{space}. {undone} Free space on it{need}, then try "
            "again; "
            "queued emails wait and go out by themselves once there is room.",
            details,
        )
    if fault is READ_ONLY:
        return (
            f"Roster cannot write to {where}: its file system is read-only (or the database "
            f"refuses writes). {undone} Make it writable again (remount the file system "
            "read-write), then try again.",
            details,
        )
    if fault is FILE_TOO_LARGE:
        soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
        if soft != resource.RLIM_INFINITY:
            details["limit_bytes"] = soft
        limit = f" ({size_text(soft)})" if soft != resource.RLIM_INFINITY else ""
        return (
            f"{where} has reached the largest file this process may write{limit}. {undone} "
            "Raise the file size limit for Roster (ulimit -f, or LimitFSIZE= in its systemd "
            "unit), then try again.",
            details,
        )
    return (
        f"The disk holding {where} failed to read or write (an I/O error). {undone} Check the "
        "disk and the system log (dmesg), and copy the whole data directory before any repair; "
        "then try again.",
        details,
    )
