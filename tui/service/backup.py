"""Backing up and restoring the embedded SQLite database, whole and consistent.

A backup is made with SQLite's online backup API: one read transaction copies every page, so the
copy is the database as of one moment, even while Roster runs and writes. It is written beside
its destination and renamed into place, in rollback-journal mode: one self-contained file.

A restore checks the copy first (SQLite's integrity check, a Roster schema this Roster knows),
refuses while a process has the database open, keeps the files it replaces (the database with
its -wal and -shm, renamed together) and puts the copy in place by a rename.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tui.outcome import Exit, Failure
from tui.service.startup import database_files
from tui.service.storage import free_bytes, size_text, storage_fault


@dataclass(frozen=True, slots=True)
class Copy:
    """What a backup or a restore wrote: the file, its size, the schema and invitations it
    holds, and (a restore) where the replaced database's files went."""

    path: Path
    size: int
    revision: str
    invitations: int
    kept: tuple[Path, ...] = ()
    in_use_unknown: bool = False  # a restore could not tell whether a process had it open


def backup(database: Path, target: Path) -> Copy:
    """Copy `database` to `target` (which must not exist) with SQLite's online backup."""
    if not database.exists():
        raise Failure(
            "no_database", f"There is no database {database} to back up yet.", path=str(database)
        )
    if target.exists() or target.is_symlink():
        raise Failure(
            "backup_exists",
            f"{target} already exists; name a new file, so no earlier backup is overwritten.",
            path=str(target),
        )
    partial = target.with_name(target.name + ".partial")
    try:
        source = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
        try:
            _write_new(partial)
            copy = sqlite3.connect(partial)
            try:
                source.backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
            finally:
                copy.close()
        finally:
            source.close()
        revision, invitations = check_copy(partial)
        with open(partial, "rb+") as file:
            os.fsync(file.fileno())
        os.replace(partial, target)
    except (OSError, sqlite3.Error) as error:
        partial.unlink(missing_ok=True)
        raise _write_failure(error, target, "The backup was not written.") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Copy(target, target.stat().st_size, revision, invitations)


def _write_new(path: Path) -> None:
    """An empty file only its owner reads: the database holds the learners' addresses."""
    path.unlink(missing_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def check_copy(path: Path) -> tuple[str, int]:
    """A copy's schema revision and invitations, once SQLite's integrity check finds it sound
    and it holds a Roster schema this Roster knows; else a Failure saying which."""
    from tui.service.schema import known_revisions

    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise _not_a_copy(path, str(error)) from None
    try:
        verdict = connection.execute("PRAGMA integrity_check").fetchall()
        if verdict != [("ok",)]:
            raise _not_a_copy(path, f"SQLite's integrity check: {verdict[0][0]}")
        try:
            found = connection.execute("SELECT version_num FROM alembic_version").fetchall()
            invitations = connection.execute("SELECT count(*) FROM invitations").fetchone()[0]
        except sqlite3.Error:
            raise _not_a_copy(path, "it holds no Roster schema") from None
    except sqlite3.DatabaseError as error:
        raise _not_a_copy(path, str(error)) from None
    finally:
        connection.close()
    revision = ",".join(row[0] for row in found)
    if revision not in known_revisions():
        raise Failure(
            "schema_too_new",
            f"{path} is at schema {revision or 'none'}, which this Roster does not know: it "
            "comes from a newer Roster. Restore it with that version or a newer one.",
            path=str(path),
            revision=revision,
        )
    return revision, int(invitations)


def _not_a_copy(path: Path, why: str) -> Failure:
    return Failure("bad_backup", f"{path} is not a sound Roster database ({why}).", path=str(path))


def users(database: Path) -> list[int] | None:
    """The other processes that have any of the database's files open (read from /proc), or
    None when that cannot be known on this system."""
    proc = Path("/proc")
    if not (proc / "self" / "fd").is_dir():
        return None
    wanted = {str(file.resolve()) for file in database_files(database)}
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            for link in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(link) in wanted:
                        found.append(int(entry.name))
                        break
    return found


def restore(source: Path, database: Path) -> Copy:
    """Put the backup `source` in place of `database`, once checked; the replaced database's
    files are kept beside it, renamed together."""
    if not source.is_file():
        raise Failure("no_backup", f"There is no backup file {source}.", path=str(source))
    revision, invitations = check_copy(source)
    holders = users(database)
    if holders:
        raise Failure(
            "database_in_use",
            f"Roster (process {', '.join(map(str, holders))}) is using {database}: stop it "
            "(close the app, let commands finish, stop `roster serve`), then restore.",
            path=str(database),
            pids=holders,
        )
    database.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = database.with_name(database.name + ".restoring")
    try:
        _write_new(partial)
        with open(source, "rb") as reading, open(partial, "wb") as writing:
            while block := reading.read(1 << 20):
                writing.write(block)
            writing.flush()
            os.fsync(writing.fileno())
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise _write_failure(error, database, "Nothing was changed.") from None
    kept = _keep_replaced(database)
    os.replace(partial, database)
    size = database.stat().st_size
    return Copy(database, size, revision, invitations, kept, in_use_unknown=holders is None)


def _keep_replaced(database: Path) -> tuple[Path, ...]:
    """Rename the database's files (roster.db, -wal, -shm) aside, together, to one name."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    kept = []
    for file, suffix in zip(database_files(database), ("", "-wal", "-shm"), strict=True):
        if file.exists():
            aside = database.with_name(f"{database.name}.replaced-{stamp}{suffix}")
            os.replace(file, aside)
            kept.append(aside)
    return tuple(kept)


def _write_failure(error: OSError | sqlite3.Error, where: Path, done: str) -> Failure:
    fault = storage_fault(error)
    if fault is None:
        return Failure("cannot_write", f"Cannot write {where}: {error}. {done}", path=str(where))
    free = free_bytes(where.parent)
    left = f" ({size_text(free)} free)" if free is not None else ""
    what = {
        "disk_full": f"The disk holding {where.parent} is full{left}",
        "read_only": f"{where.parent} is on a read-only file system",
        "file_too_large": f"{where} reached the file size limit",
        "io_error": f"The disk holding {where.parent} failed to write (an I/O error)",
    }[fault.code]
    return Failure(
        fault.code,
        f"{what}. {done} Free space or choose another place, then try again.",
        Exit.STORAGE,
        path=str(where),
    )
