"""End to end, nothing mocked: `roster serve` under uvicorn on 127.0.0.1 with a real SMTP server,
`roster admin` and `roster import` as separate processes, and an import killed mid-way."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

from tests.conftest import SmtpServer, roster, write_learners


def test_import_through_roster_serve_sends_each_email_once(
    served: tuple[str, str, Path], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    base, token, _ = served
    learners = write_learners(tmp_path / "learners.csv", 300)
    remote = ["--api-url", base, "--token", token]
    first = json.loads(
        roster(
            "import",
            str(learners),
            "--program",
            "Onboarding",
            "--contract",
            "FY26",
            "--yes",
            "--format",
            "json",
            *remote,
        )
    )
    assert first == {
        "import_id": first["import_id"],
        "status": "committed",
        "rows": 300,
        "invited": 300,
        "warnings": 0,
        "errors": 0,
        "skipped": 0,
        "left_out": 0,
        "emails_sent": 300,
        "emails_failed": 0,
    }
    recipients = Counter(message["To"] for message in smtp_server.inbox.messages)
    assert len(recipients) == 300
    assert max(recipients.values()) == 1

    again = json.loads(
        roster(
            "import",
            str(learners),
            "--program",
            "Onboarding",
            "--contract",
            "FY26",
            "--yes",
            "--format",
            "json",
            *remote,
        )
    )
    assert (again["invited"], again["skipped"], again["emails_sent"]) == (0, 300, 0)
    assert len(smtp_server.inbox.messages) == 300

    listed = json.loads(
        roster("invitations", "--program", "Onboarding", "--format", "json", *remote)
    )
    assert listed["total"] == 300
    assert {item["email_status"] for item in listed["items"]} == {"sent"}
    contracts = json.loads(
        roster("contracts", "--program", "Onboarding", "--format", "json", *remote)
    )
    assert contracts["items"][0]["seats_used"] == 300
    assert contracts["items"][0]["seats_total"] == 500

    # The learner's link in the email opens the invitation, and accepting it makes a member.
    first_email = smtp_server.inbox.messages[0]
    text = "".join(
        part.get_payload(decode=True).decode()  # type: ignore[union-attr]
        for part in first_email.walk()
        if not part.is_multipart()
    )
    link = re.search(r"https?://\S+/invitations/([\w.-]+)", text)
    assert link is not None
    page = httpx.get(f"{base}/invitations/{link[1]}")
    assert page.status_code == 200 and "invites you to Onboarding" in page.text
    accepted = httpx.post(f"{base}/invitations/{link[1]}/accept")
    assert accepted.json()["status"] == "accepted"
    members = json.loads(
        roster(
            "invitations",
            "--program",
            "Onboarding",
            "--status",
            "accepted",
            "--format",
            "json",
            *remote,
        )
    )
    assert members["total"] == 1


def start_embedded_import(
    tmp_path: Path, data_dir: Path, count: int
) -> tuple[list[str], subprocess.Popen[bytes]]:
    """`roster import` of `count` learners on the demo's unlimited contract, in the background."""
    learners = write_learners(tmp_path / "learners.csv", count)
    args = [
        "import",
        str(learners),
        "--program",
        "Inclusive Hiring",
        "--contract",
        "Enterprise Agreement 2026 (unlimited)",
        "--yes",
        "--format",
        "json",
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "tui", *args],
        env={**os.environ, "ROSTER_DATA_DIR": str(data_dir)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    return args, process


def test_import_killed_mid_way_then_rerun_invites_each_learner_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {"ROSTER_DATA_DIR": str(data_dir)}
    args, process = start_embedded_import(tmp_path, data_dir, 30_000)
    database = data_dir / "roster.db"
    deadline = time.monotonic() + 60
    while not _chunks_received(database):
        assert process.poll() is None, "the import ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()

    rerun = json.loads(roster(*args, env=env))
    assert rerun["invited"] + rerun["skipped"] == 30_000
    with sqlite3.connect(database) as db:
        per_learner = db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT learner_id) FROM invitations i "
            "JOIN programs p ON p.id = i.program_id WHERE p.name = 'Inclusive Hiring'"
        ).fetchone()
        outbox = db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT invitation_id) FROM outbox o "
            "JOIN invitations i ON i.id = o.invitation_id JOIN programs p ON p.id = i.program_id "
            "WHERE p.name = 'Inclusive Hiring'"
        ).fetchone()
    assert per_learner == (30_000, 30_000)
    assert outbox == (30_000, 30_000)
    mails = list((data_dir / "outbox" / "new").iterdir())
    assert len(mails) == len({mail.name for mail in mails}) <= 30_000


def _chunks_received(database: Path) -> bool:
    if not database.exists():
        return False
    try:
        with sqlite3.connect(database, timeout=0.1) as db:
            return bool(db.execute("SELECT COUNT(*) FROM import_chunks").fetchone()[0])
    except sqlite3.Error:
        return False


def test_an_import_killed_while_sending_is_finished_by_the_rerun(tmp_path: Path) -> None:
    """The re-run delivers the killed run's unsent emails, reports every one of them (those
    still owed when the command began, its own sender's first deliveries included), waits for
    them, and every learner ends with exactly one email (Maildir files are named by outbox
    row)."""
    data_dir = tmp_path / "data"
    env = {"ROSTER_DATA_DIR": str(data_dir)}
    count = 20_000
    args, process = start_embedded_import(tmp_path, data_dir, count)
    mails = data_dir / "outbox" / "new"
    deadline = time.monotonic() + 120
    while not (mails.exists() and any(mails.iterdir())):
        assert process.poll() is None, "the import ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    database = data_dir / "roster.db"
    with sqlite3.connect(database) as db:
        (recorded,) = db.execute("SELECT COUNT(*) FROM outbox WHERE status = 'sent'").fetchone()
    assert recorded < count, "the kill came too late to leave emails owed"

    rerun = json.loads(roster(*args, env=env))
    assert (rerun["invited"], rerun["skipped"]) == (0, count)
    # Its embedded service's sender starts before the import does, and what it sends then was
    # owed when the command began: counted too.
    assert rerun["emails_sent"] == count - recorded
    assert rerun["emails_failed"] == 0
    with sqlite3.connect(database) as db:
        statuses = dict(
            db.execute(
                "SELECT email_status, COUNT(*) FROM invitations i JOIN programs p "
                "ON p.id = i.program_id WHERE p.name = 'Inclusive Hiring' GROUP BY email_status"
            ).fetchall()
        )
        (claimed,) = db.execute(
            "SELECT COUNT(*) FROM outbox WHERE claimed_by IS NOT NULL"
        ).fetchone()
    assert statuses == {"sent": count}
    assert claimed == 0, "the re-run left emails claimed when it ended"
    names = [mail.name for mail in mails.iterdir()]
    assert len(names) == len(set(names)) == count
