"""`roster audit`, `roster audit verify`, `--format csv` and `roster imports results` as an
admin runs them: real processes against the service under uvicorn, on both databases."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import delete, update

from tests.service.conftest import LiveService, Service, invite
from tui.service.db import AuditEntry

OPERATOR = (sys.executable, "-m", "tui", "admin")


def roster(live: LiveService, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args, "--api-url", live.url, "--token", live.acme.token],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )


def _invite(live: LiveService, name: str, email: str) -> dict[str, Any]:
    response = httpx.post(
        f"{live.url}/api/v1/programs/{live.acme.programs['Leadership']}/invitations",
        headers=live.headers(),
        json={
            "full_name": name,
            "email": email,
            "contract_id": live.acme.contracts["Unlimited"],
            "send_email": False,
        },
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _sheet(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_audit_filters_csv_round_trip_and_verify(live_service: LiveService, tmp_path: Path) -> None:
    live = live_service
    first = _invite(live, "=HYPERLINK(1)", "eve@example.com")
    _invite(live, "Ann Lee", "ann@example.com")
    httpx.delete(f"{live.url}/api/v1/invitations/{first['id']}", headers=live.headers())

    invitations = roster(live, "invitations", "--program", "Leadership", "--format", "csv")
    assert invitations.returncode == 0, invitations.stderr
    rows = _sheet(invitations.stdout)
    assert [(r["email"], r["full_name"], r["status"]) for r in rows] == [
        ("eve@example.com", "'=HYPERLINK(1)", "revoked"),
        ("ann@example.com", "Ann Lee", "pending"),
    ]
    listed = json.loads(
        roster(live, "invitations", "--program", "Leadership", "--format", "json").stdout
    )
    assert [row["id"] for row in rows] == [str(item["id"]) for item in listed["items"]]

    def audit(*args: str) -> list[dict[str, Any]]:
        done = roster(live, "audit", "--format", "json", *args)
        assert done.returncode == 0, done.stderr
        return list(json.loads(done.stdout)["items"])

    assert [e["action"] for e in audit()] == [
        "invitation.revoked",
        "invitation.created",
        "invitation.created",
    ]
    assert [e["learners"] for e in audit("--action", "invitation.revoked")] == [["eve@example.com"]]
    assert len(audit("--actor", "admin@acme.example")) == 3
    assert audit("--since", (date.today() + timedelta(days=1)).isoformat()) == []
    unknown = roster(live, "audit", "--action", "invitation.deleted")
    assert unknown.returncode == 2 and "invitation.revoked" in unknown.stderr
    sheet = _sheet(roster(live, "audit", "--format", "csv", "--since", str(date.today())).stdout)
    assert [(r["seq"], r["action"], r["actor"]) for r in sheet] == [
        ("3", "invitation.revoked", "admin@acme.example"),
        ("2", "invitation.created", "admin@acme.example"),
        ("1", "invitation.created", "admin@acme.example"),
    ]
    table = roster(live, "audit")
    assert "invitation.revoked" in table.stdout and "3 entries, newest first." in table.stdout

    whole = roster(live, "audit", "verify")
    assert whole.returncode == 0 and "whole: 3 entries checked" in whole.stdout
    where = (AuditEntry.organization_id == live.acme.id, AuditEntry.seq == 2)
    with live.sessions.begin() as session:
        session.execute(update(AuditEntry).where(*where).values(count=0))
    changed = roster(live, "audit", "verify", "--format", "json")
    assert changed.returncode == 6
    assert json.loads(changed.stdout) == {
        "whole": False,
        "checked": 1,
        "broken_at": 2,
        "problem": "entry 2 was changed",
    }
    with live.sessions.begin() as session:
        session.execute(delete(AuditEntry).where(*where))
    removed = roster(live, "audit", "verify")
    assert removed.returncode == 6 and "entry 2 is missing: it was removed" in removed.stderr


def test_an_imports_results_one_line_per_row(live_service: LiveService, tmp_path: Path) -> None:
    live = live_service
    _invite(live, "Ann Lee", "ann@example.com")
    acme, headers = live.acme, live.headers()
    started = httpx.post(
        f"{live.url}/api/v1/imports",
        headers={**headers, "Idempotency-Key": "results"},
        json={
            "program_id": acme.programs["Leadership"],
            "contract_id": acme.contracts["Unlimited"],
            "send_emails": False,
            "file_name": "people.csv",
        },
    ).json()
    rows = {
        "row": [2, 3, 5, 6],
        "full_name": ["Ann Lee", "=Bob", "Cy Dee", "Di Eve"],
        "email": ["ann@example.com", "bob@example.com", "cy@example.com", "di@example.com"],
        "external_id": ["", "", "", ""],
    }
    httpx.put(f"{live.url}/api/v1/imports/{started['id']}/chunks/0", headers=headers, json=rows)
    committed = httpx.post(
        f"{live.url}/api/v1/imports/{started['id']}/commit", headers=headers, json={"rows": 4}
    )
    assert committed.json()["invited"] == 3
    # The client kept the rows it left out: row 4 had an error it found before the upload.
    httpx.put(
        f"{live.url}/api/v1/imports/{started['id']}/left-out",
        headers=headers,
        json={
            "row": [2, 4],
            "full_name": ["Ann Lee", "No Email"],
            "email": ["ann@example.com", "nope"],
            "external_id": ["", ""],
            "error": ["already invited", "An email address must have an @-sign."],
        },
    )
    target = tmp_path / "results.csv"
    done = roster(live, "imports", "results", str(started["id"]), "--output", str(target))
    assert done.returncode == 0, done.stderr
    lines = _sheet(target.read_text(encoding="utf-8-sig"))
    assert [(r["Row"], r["Full Name"], r["Email"], r["Outcome"]) for r in lines] == [
        ("2", "Ann Lee", "ann@example.com", "skipped"),
        ("3", "'=Bob", "bob@example.com", "invited"),
        ("4", "No Email", "nope", "error"),
        ("5", "Cy Dee", "cy@example.com", "invited"),
        ("6", "Di Eve", "di@example.com", "invited"),
    ]
    assert "already has a pending invitation" in lines[0]["Reason"]
    assert lines[2]["Reason"] == "An email address must have an @-sign."
    again = roster(live, "imports", "results", str(started["id"]), "--output", str(target))
    assert again.returncode == 2 and "does not write over a file" in again.stderr


def test_an_operator_verifies_on_the_database(service: Service) -> None:
    invite(service, service.acme, "ann@example.com")
    url = service.sessions.kw["bind"].url.render_as_string(hide_password=False)

    def verify() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*OPERATOR, "audit-verify", "--org", "Acme", "--database-url", url, "--format", "json"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    whole = verify()
    assert (whole.returncode, json.loads(whole.stdout)["checked"]) == (0, 1)
    with service.sessions.begin() as session:
        session.execute(update(AuditEntry).values(actor="someone@else.example"))
    broken = verify()
    assert broken.returncode == 6
    assert json.loads(broken.stdout)["error"]["broken_at"] == 1
