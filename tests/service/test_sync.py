"""A sync through the API: its diff against the program's learners, its commit in one
transaction, the removal threshold, and a second run that changes nothing."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from tests.service.conftest import (
    LiveService,
    Org,
    Service,
    batch,
    count,
    get,
    upload_and_commit,
)
from tests.service.test_concurrency import add_contract, pending_on
from tui.service.db import AuditEntry, Invitation, Learner

LEADERSHIP = "Leadership"


def _program(service: Service) -> None:
    """1,000 learners in Leadership: learner0..999 (External IDs E0..E999), the first 600
    members (accepted), the others pending."""
    acme = service.acme
    response = upload_and_commit(service, acme, "seed", batch(1000), send=False)
    assert response.status_code == 200, response.text
    learner_ids = [row[0] for row in _learners(service, 600)]
    with service.sessions.begin() as session:
        session.execute(
            update(Invitation)
            .where(Invitation.learner_id.in_(learner_ids))
            .values(status="accepted")
        )


def _learners(service: Service, first: int) -> list[tuple[int, str]]:
    from sqlalchemy import select

    with service.sessions() as session:
        return [
            (row[0], row[1])
            for row in session.execute(
                select(Learner.id, Learner.email).where(
                    Learner.email.in_([f"learner{n}@example.com" for n in range(first)])
                )
            )
        ]


def _monthly_file() -> dict[str, list[Any]]:
    """900 of the 1,000 (learner900..999 left), 150 new, 20 renamed, 10 with a new email."""
    rows = batch(900)
    rows["full_name"][:20] = [f"Renamed {n}" for n in range(20)]
    rows["email"][20:30] = [f"moved{n}@example.com" for n in range(20, 30)]
    new = batch(150, start=1000)
    return {column: rows[column] + new[column] for column in rows}


def _sync(
    service: Service, org: Org, rows: dict[str, list[Any]], **choices: Any
) -> tuple[int, Any]:
    """Start a sync of Leadership, upload its rows; (its id, its diff)."""
    started = service.http.post(
        "/api/v1/imports",
        headers={**service.as_(org), "Idempotency-Key": str(uuid.uuid4())},
        json={
            "program_id": org.programs[LEADERSHIP],
            "contract_id": org.contracts["Unlimited"],
            "send_emails": False,
            "file_name": "hr.csv",
            "mode": "sync",
            **choices,
        },
    )
    assert started.status_code == 201, started.text
    import_id = started.json()["id"]
    response = service.http.put(
        f"/api/v1/imports/{import_id}/chunks/0", headers=service.as_(org), json=rows
    )
    assert response.status_code == 200, response.text
    diff = get(service, org, f"/api/v1/imports/{import_id}/diff", rows=len(rows["row"]))
    return import_id, diff


def _commit(service: Service, import_id: int, rows: int) -> Any:
    return service.http.post(
        f"/api/v1/imports/{import_id}/commit",
        headers=service.as_(service.acme),
        json={"rows": rows},
    )


def _live(service: Service) -> int:
    return count(
        service,
        Invitation,
        Invitation.program_id == service.acme.programs[LEADERSHIP],
        Invitation.status.in_(("accepted", "pending")),
    )


def test_a_sync_shows_its_diff_applies_it_once_and_then_changes_nothing(service: Service) -> None:
    _program(service)
    rows = _monthly_file()
    import_id, diff = _sync(service, service.acme, rows, remove_missing=True)
    assert (len(diff["invite"]), len(diff["update"]), len(diff["remove"])) == (150, 30, 100)
    assert (diff["unchanged"], diff["errors"], diff["learners"], diff["refusal"]) == (
        870,
        [],
        1000,
        None,
    )
    assert [row["email"] for row in diff["invite"]] == [
        f"learner{n}@example.com" for n in range(1000, 1150)
    ]
    assert {row["email"] for row in diff["remove"]} == {
        f"learner{n}@example.com" for n in range(900, 1000)
    }
    assert {row["status"] for row in diff["remove"]} == {"pending"}
    renamed, moved = diff["update"][:20], diff["update"][20:]
    assert [(row["old_full_name"], row["full_name"]) for row in renamed[:2]] == [
        ("Learner 0", "Renamed 0"),
        ("Learner 1", "Renamed 1"),
    ]
    assert [(row["old_email"], row["email"], row["external_id"]) for row in moved[:1]] == [
        ("learner20@example.com", "moved20@example.com", "E20")
    ]
    assert _live(service) == 1000  # the diff changed nothing
    assert count(service, Learner, Learner.full_name == "Renamed 3") == 0

    response = _commit(service, import_id, len(rows["row"]))
    assert response.status_code == 200, response.text
    assert response.json()["sync"] == {
        "invited": 150,
        "updated": 30,
        "removed": 0,
        "revoked": 100,
        "emailed_updated": 0,
        "unchanged": 870,
        "errors": 0,
    }
    assert _live(service) == 1050
    assert (
        count(
            service, Learner, Learner.email == "moved20@example.com", Learner.external_id == "E20"
        )
        == 1
    )
    assert count(service, Learner, Learner.full_name == "Renamed 3") == 1
    synced = get(service, service.acme, "/api/v1/audit", action="program.synced")["items"]
    assert [entry["details"]["file_name"] for entry in synced] == ["hr.csv"]

    again, diff = _sync(service, service.acme, rows, remove_missing=True)
    assert (diff["invite"], diff["update"], diff["remove"], diff["unchanged"]) == ([], [], [], 1050)
    response = _commit(service, again, len(rows["row"]))
    assert response.json()["sync"]["invited"] == 0
    assert _live(service) == 1050


def test_a_sync_emails_a_changed_address_only_when_asked(service: Service) -> None:
    from sqlalchemy import select

    from tui.service.db import OutboxMessage

    upload_and_commit(service, service.acme, "seed", batch(3))  # emails sent
    rows = batch(3)
    rows["email"][0] = "moved0@example.com"
    rows["full_name"][1] = "Renamed 1"
    import_id, diff = _sync(service, service.acme, rows, send_emails=True, email_updated=True)
    assert len(diff["update"]) == 2
    response = _commit(service, import_id, 3)
    assert response.json()["sync"]["emailed_updated"] == 1
    with service.sessions() as session:
        emailed = session.scalars(
            select(Learner.email)
            .join(Invitation, Invitation.learner_id == Learner.id)
            .join(OutboxMessage, OutboxMessage.invitation_id == Invitation.id)
        ).all()
    assert sorted(emailed) == [
        "learner1@example.com",
        "learner2@example.com",
        "moved0@example.com",
        "moved0@example.com",
    ]


def test_a_sync_removing_too_many_is_refused_unless_allowed(service: Service) -> None:
    _program(service)
    half = batch(500)
    import_id, diff = _sync(service, service.acme, half, remove_missing=True)
    assert diff["refusal_code"] == "too_many_removals"
    assert "--max-removals 500" in diff["refusal"]
    response = _commit(service, import_id, 500)
    assert (response.status_code, response.json()["code"]) == (409, "too_many_removals")
    assert _live(service) == 1000

    # Without --remove-missing the diff lists them, and nothing is removed.
    import_id, diff = _sync(service, service.acme, half)
    assert (len(diff["remove"]), diff["refusal"]) == (500, None)
    assert _commit(service, import_id, 500).status_code == 200
    assert _live(service) == 1000

    import_id, diff = _sync(service, service.acme, half, remove_missing=True, max_removals=500)
    assert diff["refusal"] is None
    response = _commit(service, import_id, 500)
    assert response.json()["sync"]["removed"] + response.json()["sync"]["revoked"] == 500
    assert _live(service) == 500
    assert count(service, Invitation, Invitation.status == "removed") == 100
    removed = get(service, service.acme, "/api/v1/audit", action="member.removed")["items"]
    revoked = get(service, service.acme, "/api/v1/audit", action="invitation.revoked")["items"]
    assert [entry["count"] for entry in removed] == [100]
    assert [entry["count"] for entry in revoked] == [400]


def test_an_import_during_a_sync_commit_waits_for_it_and_never_interleaves(
    live_service: LiveService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sync paused inside its commit (its removals done, its seats counted): an import into
    the same program and contract is refused as busy until the sync commits, then sees the
    seats the sync took."""
    from tui.service import invitations, sync

    live = live_service
    contract = add_contract(live, "110 seats", 110)
    http = httpx.Client(base_url=live.url + "/api/v1", headers=live.headers(), timeout=60)

    def upload(rows: dict[str, list[Any]], **choices: Any) -> int:
        started = http.post(
            "/imports",
            headers={"Idempotency-Key": str(uuid.uuid4())},
            json={
                "program_id": live.acme.programs[LEADERSHIP],
                "contract_id": contract,
                "send_emails": False,
                **choices,
            },
        ).json()
        assert http.put(f"/imports/{started['id']}/chunks/0", json=rows).status_code == 200
        return int(started["id"])

    def commit(import_id: int, rows: int) -> httpx.Response:
        return http.post(f"/imports/{import_id}/commit", json={"rows": rows})

    assert commit(upload(batch(100)), 100).status_code == 200  # 100 seats of 110 taken
    # The sync frees 10 seats and takes 20: the contract is full after it.
    monthly = batch(90)
    new = batch(20, start=100)
    synced = upload({k: monthly[k] + new[k] for k in monthly}, mode="sync", remove_missing=True)
    other = upload(batch(10, start=500))

    inside, release = threading.Event(), threading.Event()
    invite = invitations.create_invitations

    def paused(*args: Any, **kwargs: Any) -> int:
        inside.set()
        assert release.wait(timeout=30)
        return invite(*args, **kwargs)

    monkeypatch.setattr(sync, "create_invitations", paused)
    with ThreadPoolExecutor(1) as pool:
        syncing = pool.submit(commit, synced, 110)
        assert inside.wait(timeout=30)
        busy = commit(other, 10)  # while the sync holds the program: refused, nothing done
        release.set()
        done = syncing.result(timeout=60)
    assert (busy.status_code, busy.json()["code"]) == (503, "database_busy")
    assert done.status_code == 200, done.text
    assert done.json()["sync"] == {
        "invited": 20,
        "updated": 0,
        "removed": 0,
        "revoked": 10,
        "emailed_updated": 0,
        "unchanged": 90,
        "errors": 0,
    }
    after = commit(other, 10)  # then it runs on what the sync left: no seat
    assert (after.status_code, after.json()["code"], after.json()["seats_left"]) == (
        409,
        "contract_capacity",
        0,
    )
    assert pending_on(live, contract) == 110


KILL_AT = """
import sys
from types import SimpleNamespace

from tui.service import audit, sync
from tui.service.db import Admin, Import, open_database, write_session
from tui.service.routes import syncs

url, import_id, rows, point = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
module = audit if point == "record" else sync
done = getattr(module, point)


def stop_after(*args, **kwargs):
    result = done(*args, **kwargs)
    print("inside", flush=True)
    sys.stdin.readline()  # killed here
    return result


setattr(module, point, stop_after)
with write_session(open_database(url)) as session:
    record = session.get_one(Import, import_id)
    state = SimpleNamespace(sender=None, sync_max_removal_share=0.5)
    me = session.get_one(Admin, record.admin_id)
    syncs.sync_commit(session, me, record, rows, SimpleNamespace(app=SimpleNamespace(state=state)))
"""


def _state(service: Service) -> list[tuple[Any, ...]]:
    """The program's invitations with their learners, and the audit record's length."""
    from sqlalchemy import select

    with service.sessions() as session:
        rows = session.execute(
            select(Learner.email, Learner.full_name, Learner.external_id, Invitation.status)
            .join(Invitation, Invitation.learner_id == Learner.id)
            .order_by(Learner.email, Invitation.id)
        ).all()
        return [tuple(row) for row in rows] + [("audit", count(service, AuditEntry))]


def test_a_sync_killed_inside_its_commit_leaves_the_program_as_before(
    service: Service, database_url: str
) -> None:
    """SIGKILL after the updates, after the removals, and with everything written but the
    commit: the program is as before each time; then the sync commits whole."""
    import subprocess
    import sys

    upload_and_commit(service, service.acme, "seed", batch(100), send=False)
    rows = _monthly_file()  # renames, new emails, new learners
    rows = {column: values[:80] + values[-20:] for column, values in rows.items()}
    import_id, diff = _sync(service, service.acme, rows, remove_missing=True, max_removals=20)
    assert (len(diff["invite"]), len(diff["update"]), len(diff["remove"])) == (20, 30, 20)
    before = _state(service)
    for point in ("_remove", "check_rows", "record"):
        process = subprocess.Popen(
            [sys.executable, "-c", KILL_AT, database_url, str(import_id), "100", point],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        inside = process.stdout.readline().strip()
        process.kill()  # SIGKILL
        _, errors = process.communicate(timeout=30)
        assert inside == "inside", errors
        assert _state(service) == before, point
    response = _commit(service, import_id, 100)
    assert response.status_code == 200, response.text
    assert response.json()["sync"]["invited"] == 20
    assert _live(service) == 100
    after = _state(service)
    assert len(after) == len(before) + 20  # the invited (the revoked stay, as revoked)
    assert after[-1] == ("audit", before[-1][1] + 3)  # program.synced, its removals, updates
