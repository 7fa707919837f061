"""`roster backup` and `roster restore`: a consistent copy while the database is being written,
and only a checked copy put back, never over a database a process has open."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.mailing import learners, queue_invitations
from tui.outcome import Failure
from tui.service.backup import backup, restore
from tui.service.db import open_database


def roster(data_dir: Path, *args: str) -> tuple[int, dict[str, object]]:
    result = subprocess.run(
        [sys.executable, "-m", "tui", "--data-dir", str(data_dir), *args, "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)


def test_a_backup_taken_while_invitations_are_written_is_consistent(tmp_path: Path) -> None:
    database = tmp_path / "roster.db"
    sessions = open_database(f"sqlite:///{database}")
    queue_invitations(sessions, learners(50, "first.example"))
    writing = threading.Event()
    stop = threading.Event()

    def write() -> None:
        batch = 0
        while not stop.is_set():
            queue_invitations(sessions, learners(200, f"batch{batch}.example"))
            batch += 1
            writing.set()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        writing.wait(30)
        copies = [backup(database, tmp_path / f"copy{n}.db") for n in range(3)]
    finally:
        stop.set()
        writer.join(60)
        sessions.kw["bind"].dispose()
    for copy in copies:
        with sqlite3.connect(copy.path) as connection:
            invitations = connection.execute("SELECT count(*) FROM invitations").fetchone()[0]
            emails = connection.execute("SELECT count(*) FROM outbox").fetchone()[0]
        # Each invitation committed with its email: a copy of one moment has both or neither.
        assert invitations == emails == copy.invitations
        assert (invitations - 50) % 200 == 0
        assert not copy.path.with_name(copy.path.name + "-wal").exists()
        assert copy.path.stat().st_mode & 0o077 == 0
    with pytest.raises(Failure) as again:
        backup(database, copies[0].path)
    assert again.value.code == "backup_exists"


def test_restore_checks_the_copy_and_refuses_a_database_in_use(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert roster(data, "programs")[0] == 0
    code, copied = roster(data, "backup", str(tmp_path / "good.db"))
    assert code == 0

    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(os.urandom(8192))
    newer = tmp_path / "newer.db"
    newer.write_bytes((tmp_path / "good.db").read_bytes())
    with sqlite3.connect(newer) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    for copy, code_ in ((damaged, "bad_backup"), (newer, "schema_too_new")):
        with pytest.raises(Failure) as refused:
            restore(copy, data / "roster.db")
        assert refused.value.code == code_

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('SELECT 1');"
            " print('open', flush=True); sys.stdin.read()",
            str(data / "roster.db"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        code, in_use = roster(data, "restore", str(tmp_path / "good.db"))
        assert code == 2
        error = in_use["error"]
        assert isinstance(error, dict) and error["code"] == "database_in_use"
        assert error["pids"] == [holder.pid]
    finally:
        holder.communicate("", timeout=30)

    code, put_back = roster(data, "restore", str(tmp_path / "good.db"))
    assert code == 0 and put_back["invitations"] == copied["invitations"]
    kept = put_back["replaced_files_kept"]
    assert isinstance(kept, list) and kept and all(Path(path).exists() for path in kept)
    assert roster(data, "programs")[0] == 0
