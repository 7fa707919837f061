"""After the send, from the command line: which emails failed and why, and the import history."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import roster
from tests.mailing import MailServer, Recorder, wait_until


@pytest.fixture
def smtp_server() -> Iterator[MailServer]:
    """The `served` fixture's mail server: it refuses every address with 'bounce' in it."""
    refuse = lambda address: "550 5.1.1 mailbox unavailable" if "bounce" in address else None  # noqa: E731
    server = MailServer(Recorder(refuse=refuse)).start()
    yield server
    server.stop()


def test_failed_emails_are_listed_with_the_reason_and_the_import_is_in_the_history(
    served: tuple[str, str, Path], smtp_server: MailServer, tmp_path: Path
) -> None:
    base, token, _ = served
    learners = tmp_path / "learners.csv"
    learners.write_text(
        "Full Name,Email,External ID\r\nAnn,ann@example.org,\r\nBo,bounce.bo@example.org,\r\n"
        "Cy,cy@example.org,\r\nDee,bounce.dee@example.org,\r\n"
    )
    env = {"ROSTER_API_URL": base, "ROSTER_TOKEN": token}
    done = json.loads(
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
            env=env,
        )
    )
    assert (done["invited"], done["emails_sent"], done["emails_failed"]) == (4, 2, 2)
    # The import names what failed, why, and how to send them again.
    assert sorted(item["email"] for item in done["failed_emails"]) == [
        "bounce.bo@example.org",
        "bounce.dee@example.org",
    ]
    assert all("550 5.1.1" in item["reason"] for item in done["failed_emails"])
    retry = f"roster invitations resend --import {done['import_id']} --email-status failed"
    assert done["retry"] == retry

    failed = json.loads(
        roster(
            "invitations",
            "--program",
            "Onboarding",
            "--email-status",
            "failed",
            "--format",
            "json",
            env=env,
        )
    )
    assert sorted(item["email"] for item in failed["items"]) == [
        "bounce.bo@example.org",
        "bounce.dee@example.org",
    ]
    assert all("550" in item["email_error"] for item in failed["items"])
    table = roster("invitations", "--program", "Onboarding", "--email-status", "failed", env=env)
    assert "550 5.1.1 mailbox unavailable" in table

    history = json.loads(roster("imports", "--format", "json", env=env))["items"]
    assert [(item["file_name"], item["invited"], item["emails_failed"]) for item in history] == [
        ("learners.csv", 4, 2)
    ]
    shown = roster("imports", "show", str(history[0]["id"]), env=env)
    assert "2 sent, 2 failed" in shown
    # The history's table says who started each import.
    header, row = roster("imports", env=env).splitlines()[:2]
    assert header.split()[:3] == ["ID", "WHEN", "BY"]
    assert history[0]["admin_email"] and history[0]["admin_email"] in row

    # The cause is fixed (the mailboxes exist now); the retry the import named sends each once.
    smtp_server.handler.refuse = lambda _address: None
    of_import = ["--import", str(done["import_id"]), "--email-status", "failed"]
    assert json.loads(roster("invitations", *of_import, "--format", "json", env=env))["total"] == 2
    resent = roster("invitations", "resend", *of_import, "--yes", env=env)
    assert "2 of 2 invitations resent" in resent
    assert "2 emails: 2 delivered." in resent  # what became of them, not only "resent"

    def delivered() -> list[str]:
        return sorted(to for message in smtp_server.handler.received for to in message.recipients)

    wait_until(lambda: len(delivered()) == 4, what="the two resent emails")
    assert delivered() == [
        "ann@example.org",
        "bounce.bo@example.org",
        "bounce.dee@example.org",
        "cy@example.org",
    ]


def test_resend_and_revoke_from_the_command_line_say_how_many_and_ask_first(
    served: tuple[str, str, Path], tmp_path: Path
) -> None:
    base, token, _ = served
    learners = tmp_path / "learners.csv"
    learners.write_text(
        "Full Name,Email,External ID\r\n" + "".join(f"L{n},l{n}@example.org,\r\n" for n in range(3))
    )
    env = {"ROSTER_API_URL": base, "ROSTER_TOKEN": token}
    roster(
        "import",
        str(learners),
        "--program",
        "Onboarding",
        "--contract",
        "FY26",
        "--yes",
        "--no-send",
        env=env,
    )
    listed = json.loads(
        roster("invitations", "--program", "Onboarding", "--format", "json", env=env)
    )["items"]
    first = str(listed[0]["id"])

    unasked = subprocess.run(
        [sys.executable, "-m", "tui", "invitations", "revoke", first],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **env},
    )
    assert unasked.returncode == 2
    assert "Revoke: revoke 1 invitation" in unasked.stderr and "--yes" in unasked.stderr

    revoked = json.loads(
        roster("invitations", "revoke", first, "--yes", "--format", "json", env=env)
    )
    assert revoked == {"matched": 1, "changed": 1, "left": {}}
    resent = roster("invitations", "resend", "--program", "Onboarding", "--yes", env=env)
    assert "2 of 3 invitations resent; left as they were: 1 not pending." in resent


def test_an_import_keeps_its_rows_left_out_to_be_saved_again(
    served: tuple[str, str, Path], tmp_path: Path
) -> None:
    base, token, _ = served
    env = {"ROSTER_API_URL": base, "ROSTER_TOKEN": token}
    learners = tmp_path / "learners.csv"
    learners.write_text(
        "Full Name,Email,External ID\r\nAnn,ann@example.org,\r\n,no.name@example.org,\r\n"
    )
    options = ("--program", "Onboarding", "--contract", "FY26", "--yes", "--no-send")
    roster("import", str(learners), *options, env=env)
    again = json.loads(roster("import", str(learners), *options, "--format", "json", env=env))
    assert (again["invited"], again["skipped"], again["errors"]) == (0, 1, 1)

    saved = tmp_path / "left-out.csv"
    roster("imports", "show", str(again["import_id"]), "--left-out", str(saved), env=env)
    with saved.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["Full Name", "Email", "External ID", "Error"]
    assert [row[:2] for row in rows[1:]] == [
        ["Ann", "ann@example.org"],
        ["", "no.name@example.org"],
    ]
    assert rows[1][3].startswith("Row 2: ann@example.org already has a pending invitation")
    assert rows[2][3].startswith("Row 3: Full Name is empty")

    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "tui",
            "imports",
            "show",
            str(again["import_id"]),
            "--left-out",
            str(saved),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **env},
    )
    assert refused.returncode == 2
    assert json.loads(refused.stdout)["error"]["code"] == "file_exists"


def test_learners_who_differ_are_shown_kept_or_updated_and_emails_carry_the_admins_words(
    served: tuple[str, str, Path], smtp_server: MailServer, tmp_path: Path
) -> None:
    import httpx

    base, token, database = served
    env = {"ROSTER_API_URL": base, "ROSTER_TOKEN": token}
    local = ["--database-url", f"sqlite:///{database}"]
    roster("admin", "set-sender-name", "--org", "Initech", "Initech Academy", *local)
    for program in ("Compliance", "Safety"):
        roster("admin", "create-program", "--org", "Initech", program, *local)
        roster(
            "admin",
            "create-contract",
            "--org",
            "Initech",
            "--program",
            program,
            f"{program} 2026",
            *local,
        )
    first = tmp_path / "first.csv"
    first.write_text(
        "Full Name,Email,External ID\nAnn Lee,ann@example.org,A1\n"
        "Bo Chen,bo@example.org,B1\nCy Diaz,cy@example.org,\n"
    )
    started = json.loads(
        roster(
            "import",
            str(first),
            "--program",
            "Onboarding",
            "--contract",
            "FY26",
            "--yes",
            "--no-send",
            "--format",
            "json",
            env=env,
        )
    )
    assert started["invited"] == 3, started
    again = tmp_path / "again.csv"
    again.write_text(
        "Full Name,Email,External ID\nAnn Lee-Smith,ann@example.org,A1\n"
        "Bo Chen,bo@example.org,B2\nCy Diaz,cy@example.org,C1\n"
    )

    # The dry run names both values of each difference; a missing External ID is no difference.
    checked = json.loads(
        roster(
            "check",
            str(again),
            "--program",
            "Compliance",
            "--contract",
            "Compliance 2026",
            "--format",
            "json",
            env=env,
        )
    )
    differs = {
        issue["row"]: issue for issue in checked["issues"] if issue["code"] == "learner_differs"
    }
    assert sorted(differs) == [2, 3]
    assert '"Ann Lee", External ID A1; the file says "Ann Lee-Smith"' in differs[2]["message"]
    assert (differs[2]["column"], differs[3]["column"]) == ("Full Name", "External ID")
    assert 'External ID B1; the file says "Bo Chen", External ID B2' in differs[3]["message"]

    def learners() -> dict[str, tuple[str, str | None]]:
        found = httpx.get(
            f"{base}/api/v1/learners",
            params={"limit": 10},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        return {item["email"]: (item["full_name"], item["external_id"]) for item in found["items"]}

    words = "Bring your laptop.\nWe start Monday at 9."
    kept = json.loads(
        roster(
            "import",
            str(again),
            "--program",
            "Compliance",
            "--contract",
            "Compliance 2026",
            "--message",
            words,
            "--yes",
            "--format",
            "json",
            env=env,
        )
    )
    assert (kept["invited"], kept["emails_sent"]) == (3, 3)
    shown = json.loads(
        roster("imports", "show", str(kept["import_id"]), "--format", "json", env=env)
    )
    assert shown["message"] == words
    assert sorted(
        issue["row"] for issue in shown["issues"] if issue["code"] == "learner_differs"
    ) == [2, 3]
    # The stored values stayed, but the empty External ID was filled in.
    assert learners() == {
        "ann@example.org": ("Ann Lee", "A1"),
        "bo@example.org": ("Bo Chen", "B1"),
        "cy@example.org": ("Cy Diaz", "C1"),
    }
    emails = [message.parsed() for message in smtp_server.handler.received]
    assert len(emails) == 3
    for message in emails:
        assert str(message["From"]).startswith("Initech Academy <")
        plain = message.get_body(("plain",))
        assert plain is not None and words in plain.get_content().replace("\r\n", "\n")

    updated = json.loads(
        roster(
            "import",
            str(again),
            "--program",
            "Safety",
            "--contract",
            "Safety 2026",
            "--update-learners",
            "--no-send",
            "--yes",
            "--format",
            "json",
            env=env,
        )
    )
    assert updated["invited"] == 3
    assert learners() == {
        "ann@example.org": ("Ann Lee-Smith", "A1"),
        "bo@example.org": ("Bo Chen", "B2"),
        "cy@example.org": ("Cy Diaz", "C1"),
    }
    # Found by their new names.
    renamed = httpx.get(
        f"{base}/api/v1/learners",
        params={"q": "lee-smith"},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert renamed["total"] == 1
