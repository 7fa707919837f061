"""The data directory's files are private whoever made the folder: with a umask of 022 and a
data directory made beforehand (0755) or by Roster, the database and its -wal and -shm, the
log, the outbox's folders and messages (working accept links), the secret key and the token
are the owner's alone, and a directory other users can open is named at start."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import write_learners

ARGS = [
    "--program",
    "Inclusive Hiring",
    "--contract",
    "Enterprise Agreement 2026 (unlimited)",
    "--yes",
    "--format",
    "json",
]


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask, which leaves new files readable by every local user; Roster's commands
    (run as subprocesses) inherit it."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def modes(data_dir: Path) -> dict[str, int]:
    """Each file and folder under the data directory (itself excluded) and its mode."""
    return {
        str(path.relative_to(data_dir)): stat.S_IMODE(path.stat().st_mode)
        for path in data_dir.rglob("*")
    }


def assert_private(data_dir: Path) -> dict[str, int]:
    found = modes(data_dir)
    for name, mode in found.items():
        expected = 0o700 if (data_dir / name).is_dir() else 0o600
        assert mode == expected, f"{name} is {mode:04o}"
    return found


@pytest.mark.usefixtures("umask_022")
@pytest.mark.parametrize("made_by", ["the admin, 0755", "Roster"])
def test_every_file_is_private_after_an_import_with_emails_queued(
    made_by: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    if made_by != "Roster":
        data_dir.mkdir(mode=0o755)
    learners = write_learners(tmp_path / "learners.csv", 3000)
    env = {**os.environ, "ROSTER_DATA_DIR": str(data_dir)}
    # Killed while it sends: the database's -wal and -shm stay, emails are still queued.
    process = subprocess.Popen(
        [sys.executable, "-m", "tui", "import", str(learners), *ARGS],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    mails = data_dir / "outbox" / "new"
    deadline = time.monotonic() + 120
    while not (mails.is_dir() and any(mails.iterdir())):
        assert process.poll() is None, "the import ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    _, killed_errors = process.communicate()
    found = assert_private(data_dir)
    for name in ("roster.db", "roster.db-wal", "roster.db-shm", "roster.log", "secret_key"):
        assert name in found
    assert {"outbox", "outbox/new", "outbox/tmp", "outbox/cur"} <= set(found)
    assert any(name.startswith("outbox/new/roster-") for name in found)

    # The re-run sends the rest; every file stays private, and the folder is named each time.
    rerun = subprocess.run(
        [sys.executable, "-m", "tui", "import", str(learners), *ARGS],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found = assert_private(data_dir)
    assert "token" in found
    assert len([name for name in found if name.startswith("outbox/new/roster-")]) == 3000
    mode = stat.S_IMODE(data_dir.stat().st_mode)
    warning = f"roster: warning: The data directory {data_dir} is open to other users"
    if made_by == "Roster":
        assert mode == 0o700
        assert warning not in killed_errors.decode() + rerun.stderr
        assert "open to other users" not in (data_dir / "roster.log").read_text()
    else:
        assert mode == 0o755  # an admin's folder keeps the mode the admin gave it
        assert warning in killed_errors.decode()
        assert f"{warning} (mode 0755)" in rerun.stderr
        assert f"chmod 700 {data_dir}" in rerun.stderr
        assert f"The data directory {data_dir} is open" in (data_dir / "roster.log").read_text()
