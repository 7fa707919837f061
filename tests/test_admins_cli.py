"""`roster admins` and `roster admin create-admin` as people run them: real processes, tokens
printed once and kept where the next command reads them, refusals by role."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from tui.service.db import AuditEntry


def roster(*args: str, env: dict[str, str] | None = None, stdin: str = "") -> Any:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        check=False,
        timeout=120,
    )


def test_add_prints_the_token_once_and_rotate_keeps_ones_own_in_the_data_dir(
    tmp_path: Path,
) -> None:
    data = ("--data-dir", str(tmp_path / "data"))
    added = roster(
        *data,
        "admins",
        "add",
        "mia@acme.example",
        "--role",
        "manager",
        "--program",
        "Leadership Essentials",
        "--format",
        "json",
    )
    assert added.returncode == 0, added.stderr
    made = json.loads(added.stdout)
    assert (made["admin"]["email"], made["admin"]["role"]) == ("mia@acme.example", "manager")
    assert added.stdout.count(made["token"]) == 1

    token_file = tmp_path / "data" / "token"
    old = token_file.read_text().strip()
    rotated = roster(*data, "admins", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    new = token_file.read_text().strip()
    assert new != old and rotated.stdout.count(new) == 1 and old not in rotated.stdout
    assert str(token_file) in rotated.stderr
    listed = roster(*data, "admins", "--format", "json")  # with the new token
    assert [a["email"] for a in json.loads(listed.stdout)["items"]][-1] == "mia@acme.example"
    assert made["token"] not in listed.stdout and "token_hash" not in listed.stdout


def test_an_operators_viewer_is_refused_and_an_owner_rotates_the_logged_in_token(
    served: tuple[str, str, Path], tmp_path: Path
) -> None:
    url, owner, database = served
    created = roster(
        "admin",
        "create-admin",
        "--org",
        "Initech",
        "--email",
        "v@initech.example",
        "--role",
        "viewer",
        "--database-url",
        f"sqlite:///{database}",
        "--format",
        "json",
    )
    viewer = json.loads(created.stdout)["token"]
    refused = roster(
        "--api-url",
        url,
        "admins",
        "add",
        "x@initech.example",
        "--role",
        "owner",
        "--format",
        "json",
        env={"ROSTER_TOKEN": viewer},
    )
    assert refused.returncode == 3
    assert json.loads(refused.stdout)["error"]["code"] == "forbidden_role"

    home = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "ROSTER_API_URL": url}
    assert roster("login", "--api-url", url, env=home, stdin=owner + "\n").returncode == 0
    rotated = roster("admins", "rotate", "--format", "json", env=home)
    assert rotated.returncode == 0, rotated.stderr
    kept = json.loads(rotated.stdout)
    config = tmp_path / "config" / "roster" / "config.toml"
    assert kept["kept_in"] == str(config) and kept["token"] in config.read_text()
    assert roster("programs", env=home).returncode == 0
    stale = roster("--api-url", url, "programs", "--format", "json", env={"ROSTER_TOKEN": owner})
    assert (stale.returncode, json.loads(stale.stdout)["error"]["code"]) == (3, "unauthorized")

    engine = create_engine(f"sqlite:///{database}")
    with Session(engine) as session:
        entries = [(e.action, e.actor) for e in session.scalars(select(AuditEntry))]
    engine.dispose()
    assert entries[0][0] == "admin.added" and entries[0][1].startswith("operator (")
    assert entries[-1] == ("admin.token_rotated", "lead@initech.example")


def test_rotating_a_token_given_with_token_says_so(served: tuple[str, str, Path]) -> None:
    url, owner, _ = served
    rotated = roster("--api-url", url, "--token", owner, "admins", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    assert "the old token (given with --token) opens nothing now" in rotated.stderr
