"""The data directory's files kept private.

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
from pathlib import Path

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
