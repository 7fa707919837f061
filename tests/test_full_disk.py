"""A full disk, for real: a data directory on a small tmpfs, imports until it is full, every
message Roster prints followed, and every committed invitation found afterwards, also after a
backup and a restore. Needs root (mount); skipped otherwise, saying so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write_learners

DISK = 40 * 1024 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 40 MB tmpfs mounted at a new folder, unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; this test fills a real disk")
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK}", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"mount -t tmpfs is not permitted here: {made.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def roster(data_dir: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    """A command's exit status, its JSON document and its standard error; never a traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "tui", "--data-dir", str(data_dir), *args, "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "Logging error" not in result.stderr, result.stderr[-3000:]
    return result.returncode, json.loads(result.stdout), result.stderr


def fill(folder: Path, leave: int) -> Path:
    """A file taking the folder's disk until only `leave` bytes are free."""
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    filler = folder / "filler"
    with open(filler, "wb") as file:
        file.truncate(0)
        block = b"\0" * (1 << 20)
        remaining = max(free - leave, 0)
        while remaining > 0:
            written = file.write(block[: min(len(block), remaining)])
            remaining -= written
    return filler


def database_bytes(data_dir: Path) -> int:
    return sum(
        (data_dir / name).stat().st_size
        for name in ("roster.db", "roster.db-wal")
        if (data_dir / name).exists()
    )


def invited_emails(data_dir: Path) -> set[str]:
    code, listing, _ = roster(data_dir, "invitations", "--program", "1")
    assert code == 0
    return {item["email"] for item in listing["items"]}


def test_a_full_disk_is_named_retries_store_nothing_and_no_invitation_is_lost(
    small_disk: Path, tmp_path: Path
) -> None:
    data = small_disk / "roster"
    code, _, _ = roster(data, "programs")  # the demo data directory, on the small disk
    assert code == 0
    filler = fill(small_disk, leave=12 * 1024 * 1024)

    first = tmp_path / "first.csv"  # External IDs of its own: no row of big.csv is skipped
    first.write_text(
        "Full Name,Email,External ID\n"
        + "".join(f"First {n},learner{n}@first.example,F{n}\n" for n in range(500))
    )
    code, done, _ = roster(data, "import", str(first), "--program", "1", "--contract", "1", "--yes")
    assert (code, done["status"], done["invited"], done["emails_sent"]) == (
        0,
        "committed",
        500,
        500,
    )

    # 20,000 invitations need more than the 12 MB left: the disk is full, and said so.
    big = write_learners(tmp_path / "big.csv", 20_000, domain="big.example")
    args = ("import", str(big), "--program", "1", "--contract", "1", "--no-send", "--yes")
    code, refused, _ = roster(data, *args)
    error = refused["error"]
    assert (code, error["code"], error["status"]) == (5, "disk_full", 507)
    assert f"The disk holding {data / 'roster.db'} ran out of space" in error["message"]
    assert "free now" in error["message"] and "this needs about" in error["message"]
    assert "busy" not in error["message"]
    after_first_failure = database_bytes(data)

    # Retried, as an admin would: each is refused the same way and stores nothing more.
    for _ in range(2):
        code, again, _ = roster(data, *args)
        assert (code, again["error"]["code"]) == (5, "disk_full")
    assert database_bytes(data) <= after_first_failure + 256 * 1024
    code, imports, _ = roster(data, "imports")
    failed = [item for item in imports["items"] if item["file_name"] == "big.csv"]
    assert [(item["status"], item["chunks"]) for item in failed] == [("abandoned", 0)] * 3

    # With the disk full to the last byte, a start reads what it needs: no "damaged", no
    # advice to move the database.
    filler.unlink()
    filler = fill(small_disk, leave=0)
    code, listing, _ = roster(data, "programs")
    assert code == 0 or listing["error"]["code"] == "disk_full"
    assert "Move" not in json.dumps(listing) and "damaged" not in json.dumps(listing)

    # The message said: free space on it, then try again.
    filler.unlink()
    code, done, _ = roster(data, *args)
    assert (code, done["status"], done["invited"]) == (0, "committed", 20_000)
    emails = invited_emails(data)
    wanted = {f"learner{n}@first.example" for n in range(500)}
    wanted |= {f"learner{n}@big.example" for n in range(20_000)}
    assert wanted <= emails

    # A backup taken while the data directory is in use, restored into a new one: all there.
    backup = tmp_path / "roster-backup.db"
    code, copied, _ = roster(data, "backup", str(backup))
    assert code == 0 and copied["invitations"] >= 20_500
    restored = tmp_path / "restored"
    code, put_back, _ = roster(restored, "restore", str(backup))
    assert code == 0 and put_back["invitations"] == copied["invitations"]
    assert invited_emails(restored) == emails


def test_a_read_only_file_system_is_named_not_called_damaged(small_disk: Path) -> None:
    data = small_disk / "roster"
    assert roster(data, "programs")[0] == 0
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    code, refused, _ = roster(data, "programs")
    error = refused["error"]
    assert (code, error["code"]) == (5, "read_only")
    assert (
        "read-only file system" in error["message"] and "Remount it read-write" in error["message"]
    )
    assert "damaged" not in error["message"] and "Move" not in error["message"]
