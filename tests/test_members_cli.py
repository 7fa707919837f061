"""`roster members` as an admin runs it, on the embedded demo: list, remove after asking (a
script without --yes is refused), emails from a sheet, and revoke refusing a member."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROGRAM = "Leadership Essentials"  # the demo's program with 20 members


def roster(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A real `roster` process on the data directory; standard input is no terminal."""
    return subprocess.run(
        [sys.executable, "-m", "tui", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1"},
    )


def test_members_remove_asks_first_reads_a_sheet_and_says_who_was_no_member(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    listed = roster(data_dir, "members", "--program", PROGRAM, "--format", "json")
    members = json.loads(listed.stdout)
    assert (listed.returncode, members["total"]) == (0, 20)
    amara = next(m for m in members["items"] if m["email"].startswith("amara"))

    unasked = roster(data_dir, "members", "remove", "--program", PROGRAM, amara["email"])
    assert unasked.returncode == 2
    assert "Remove: end the membership of 1 learner in Leadership Essentials" in unasked.stderr
    assert "--yes" in unasked.stderr

    sheet = tmp_path / "leavers.csv"
    sheet.write_text(
        f"Full Name;Email\r\nAmara;{amara['email'].upper()}\r\nNo One;no@example.org\r\n"
    )
    removed = roster(
        data_dir,
        "members",
        "remove",
        "--program",
        PROGRAM,
        "--file",
        str(sheet),
        "--reason",
        "Left the company",
        "--yes",
        "--format",
        "json",
    )
    assert removed.returncode == 1, removed.stderr  # one named was no member
    result = json.loads(removed.stdout)
    assert (result["matched"], result["removed"]) == (2, 1)
    assert [(m["email"], m["code"]) for m in result["not_members"]] == [
        ("no@example.org", "unknown_learner")
    ]

    # Revoking an accepted invitation is refused, and says how to remove the member instead.
    other = next(m for m in members["items"] if m is not amara)
    revoked = roster(
        data_dir, "invitations", "revoke", str(other["invitation_id"]), "--yes", "--format", "json"
    )
    assert revoked.returncode == 3
    error = json.loads(revoked.stdout)["error"]
    assert error["code"] == "is_member"
    command = f"roster members remove --program '{PROGRAM}' {other['email']}"
    assert command in error["message"]
