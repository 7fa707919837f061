"""`roster sync` as a script runs it, on the embedded demo: the diff first, nothing changed
without --yes, the sync once, then nothing to change; too many removals refused (exit 3)
until --max-removals allows them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

PROGRAM = "Leadership Essentials"  # the demo's program with 20 members
CONTRACT = "Enterprise Agreement 2026"


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


def sync_run(data_dir: Path, path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`roster sync` of `path` into the demo's program, as JSON."""
    return roster(
        data_dir,
        "sync",
        str(path),
        "--program",
        PROGRAM,
        "--contract",
        "1",
        "--format",
        "json",
        *args,
    )


def sync(data_dir: Path, path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    done = sync_run(data_dir, path, *args)
    return done.returncode, json.loads(done.stdout)


def members(data_dir: Path) -> list[dict[str, Any]]:
    listed = roster(data_dir, "members", "--program", PROGRAM, "--format", "json")
    items: list[dict[str, Any]] = json.loads(listed.stdout)["items"]
    return items


def write(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    lines = ["Full Name,Email,External ID", *(",".join(row) for row in rows)]
    path.write_text("\r\n".join(lines) + "\r\n")
    return path


def test_sync_shows_asks_applies_once_and_guards_removals(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    before = members(data_dir)
    kept = [(m["full_name"], m["email"], m["external_id"]) for m in before[:18]]
    kept[0] = ("Amara O. Smith", *kept[0][1:])  # renamed
    kept[1] = (kept[1][0], "moved@example.com", kept[1][2])  # a new email, same External ID
    # A row with an error names before[18] by its External ID: never taken for a leaver.
    typo = ("Typo", "not-an-email", before[18]["external_id"])
    hr = write(tmp_path / "hr.csv", [*kept, ("New Person", "new@example.com", "EMP-9000"), typo])

    code, preview = sync(data_dir, hr, "--remove-missing", "--dry-run")
    diff = preview["diff"]
    assert (code, preview["result"]["status"]) == (1, "dry_run")
    assert [row["email"] for row in diff["invite"]] == ["new@example.com"]
    assert [(u["old_full_name"], u["full_name"]) for u in diff["update"][:1]] == [
        (before[0]["full_name"], "Amara O. Smith")
    ]
    assert [(u["old_email"], u["email"]) for u in diff["update"][1:]] == [
        (before[1]["email"], "moved@example.com")
    ]
    assert [row["email"] for row in diff["remove"]] == [before[19]["email"]]
    assert diff["unchanged"] == 16
    assert [(error["row"], error["code"]) for error in diff["errors"]] == [(21, "invalid_email")]
    listed = json.loads(roster(data_dir, "imports", "--format", "json").stdout)
    previewed = roster(data_dir, "imports", "show", str(listed["items"][0]["id"]))
    assert "sync previewed and not applied: it changed nothing" in previewed.stdout

    code, refused = sync(data_dir, hr, "--remove-missing")  # no --yes, no terminal
    assert (code, refused["error"]["code"]) == (2, "usage")  # and nothing changed: see below

    code, done = sync(data_dir, hr, "--remove-missing", "--yes")
    result = done["result"]
    assert code == 1, done  # the row with an error was left out
    assert (result["invited"], result["updated"], result["removed"]) == (1, 2, 1)

    again = roster(
        data_dir,
        "sync",
        str(hr),
        "--program",
        PROGRAM,
        "--contract",
        "1",
        "--remove-missing",
        "--yes",
    )
    assert again.returncode == 1, again.stderr
    assert "Nothing to change." in again.stdout

    half = write(tmp_path / "half.csv", kept[:9])
    code, refused = sync(data_dir, half, "--remove-missing", "--yes")
    assert (code, refused["error"]["code"]) == (3, "too_many_removals")
    assert "--max-removals 11" in refused["error"]["message"]
    allowed = sync_run(data_dir, half, "--remove-missing", "--yes", "--max-removals", "11")
    done = json.loads(allowed.stdout)
    assert (allowed.returncode, done["result"]["removed"], done["result"]["revoked"]) == (0, 10, 1)
    # The question says who the removals are, and no error is read as the sync not done.
    assert "remove 11 (10 members, 1 pending invitation); 9 unchanged" in allowed.stderr
    assert "no rows with errors." in allowed.stderr
    shown = roster(data_dir, "imports", "show", str(done["result"]["import_id"]))
    assert "sync: 0 invited, 0 updated, 10 removed, 1 revoked, 9 unchanged" in shown.stdout
    after = members(data_dir)
    assert len(after) == 9
    assert [m["full_name"] for m in after[:1]] == ["Amara O. Smith"]
    assert "moved@example.com" in {m["email"] for m in after}
