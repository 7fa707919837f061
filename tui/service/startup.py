"""What stops Roster from starting on a data directory or a database, told as a Failure, and
the data directory's files kept private.

The embedded service (which the app and the commands start) and the operators' commands (serve,
worker, migrate, admin) open the same data directory and databases: a file where the directory
should be, a damaged or foreign database, a schema this Roster does not run on, each end with one
message naming it (password masked), never a traceback. sqlalchemy is imported only once a
database is opened.

What Roster keeps in a data directory (the database and its -wal and -shm, the log, the outbox
whose emails hold working accept links, the secret key, the demo token) is created private to
its owner, 0600 (folders 0700), whatever the umask: the modes are given at creation, not left
to the umask. A data directory Roster creates is 0700; one made beforehand keeps its mode (it
may be shared on purpose), and when other users can open it Roster says so at start
(`open_to_others`).
"""

from __future__ import annotations

import contextlib
import os
import stat
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
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        raise Failure(
            "bad_data_dir",
            f"Roster cannot write in {existing}, so it cannot keep its data in {path}. "
            f"Give yourself write access, or {where[0].lower() + where[1:]}",
            path=str(path),
        )


PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


def make_data_dir(path: Path) -> None:
    """The data directory, created private (0700) if it is missing; one made beforehand keeps
    its mode (`open_to_others` names it)."""
    if path.is_dir():
        return
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
    path.chmod(PRIVATE_FOLDER)  # the umask may have taken more than group and other


def open_to_others(path: Path) -> str | None:
    """What to tell about a data directory other users can open; None when only its owner can
    (or it does not exist yet: Roster creates it private)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    if not mode & 0o077:
        return None
    return (
        f"The data directory {path} is open to other users (mode {mode:04o}). Roster's files in "
        f"it are private to you, but their names are not; make it private with: chmod 700 {path}"
    )


def private_file(path: Path) -> None:
    """`path` created empty and private (0600) if it is missing, and made private if it is
    yours and open to others (made by an older Roster). A file that cannot be made is left to
    whoever opens it next, which says why."""
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
        keep_private(path)


def keep_private(path: Path, mode: int = PRIVATE_FILE) -> None:
    """A file or folder of yours that others can open made private (`mode`)."""
    with contextlib.suppress(OSError):
        status = path.stat()
        if status.st_uid == os.getuid() and stat.S_IMODE(status.st_mode) & 0o077:
            path.chmod(mode)


def private_database(url: str) -> None:
    """A SQLite database file created private before SQLite opens it: SQLite gives its -wal
    and -shm files the database file's mode. Older ones are made private too."""
    if not url.startswith("sqlite:"):
        return
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    path = Path(name)
    private_file(path)
    for companion in ("-wal", "-shm", "-journal"):
        keep_private(path.with_name(path.name + companion))


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
        if not database.startswith("sqlite:///"):
            raise Failure(
                "bad_database",
                f"Cannot use the database {mask_url(database)}: {reason}.",
                database=mask_url(database),
            ) from None
        path = database.removeprefix("sqlite:///")
        raise Failure(
            "bad_database",
            f"{path} is not a Roster database, or it is damaged ({reason}). Move it aside and "
            "Roster starts a new one, or restore it from a backup.",
            path=path,
        ) from None
    except ValueError as error:  # a mail URL or sender the service cannot use
        raise Failure("bad_setting", str(error)) from None
    except SettingsProblem as problem:  # no usable secret key
        raise Failure("bad_setting", problem.message, **problem.details) from None
    except OSError as error:
        raise Failure(
            "bad_data_dir",
            f"Cannot use the data directory {service.settings.data_dir}: {error.strerror}.",
            path=str(service.settings.data_dir),
        ) from None


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
