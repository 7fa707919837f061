"""The audit record of the changes an admin makes through the API: one entry per change, in
its transaction, with the actor, the counts and the learners; read back by filter and page."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import update

from tests.service.conftest import Service, batch, get, invite, upload_and_commit
from tui.service.db import Admin, AdminProgram


def _entries(service: Service, **filters: Any) -> list[dict[str, Any]]:
    return list(get(service, service.acme, "/api/v1/audit", **filters)["items"])


def _update_import(service: Service) -> Any:
    """An import to Data Literacy of learners 0-2, one renamed, with `update_learners`."""
    acme = service.acme
    started = service.http.post(
        "/api/v1/imports",
        headers={**service.as_(acme), "Idempotency-Key": "update"},
        json={
            "program_id": acme.programs["Data Literacy"],
            "contract_id": acme.contracts["Unlimited"],
            "send_emails": False,
            "file_name": "renamed.csv",
            "update_learners": True,
        },
    ).json()
    rows = batch(3)
    rows["full_name"][1] = "Learner One Renamed"
    service.http.put(
        f"/api/v1/imports/{started['id']}/chunks/0", headers=service.as_(acme), json=rows
    )
    return service.http.post(
        f"/api/v1/imports/{started['id']}/commit", headers=service.as_(acme), json={"rows": 3}
    )


def test_each_change_writes_one_entry_with_its_actor_counts_and_learners(
    service: Service,
) -> None:
    acme, me = service.acme, "admin@acme.example"
    committed = upload_and_commit(service, acme, "first", batch(3))
    assert committed.status_code == 200
    # A retried commit changes nothing and writes nothing.
    retried = service.http.post(
        f"/api/v1/imports/{committed.json()['id']}/commit",
        headers=service.as_(acme),
        json={"rows": 3},
    )
    assert retried.status_code == 200
    assert _update_import(service).status_code == 200
    one = invite(service, acme, "ann@example.com").json()
    headers = service.as_(acme)
    assert service.http.post(f"/api/v1/invitations/{one['id']}/resend", headers=headers).is_success
    assert service.http.delete(f"/api/v1/invitations/{one['id']}", headers=headers).is_success
    service.http.delete(f"/api/v1/invitations/{one['id']}", headers=headers)  # revoked already
    leadership = {"program_id": acme.programs["Leadership"], "status": "pending"}
    assert service.http.post("/api/v1/invitations/resend", headers=headers, json=leadership)
    assert service.http.post("/api/v1/invitations/revoke", headers=headers, json=leadership)

    entries = _entries(service)
    assert [(e["seq"], e["action"], e["count"]) for e in entries] == [
        (8, "invitation.revoked", 3),
        (7, "invitation.resent", 3),
        (6, "invitation.revoked", 1),
        (5, "invitation.resent", 1),
        (4, "invitation.created", 1),
        (3, "learner.updated", 1),
        (2, "import.committed", 3),
        (1, "import.committed", 3),
    ]
    assert {entry["actor"] for entry in entries} == {me}
    revoked_bulk, revoked_one, created, updated = entries[0], entries[2], entries[4], entries[5]
    assert revoked_bulk["learners"] == [f"learner{n}@example.com" for n in range(3)]
    assert revoked_bulk["details"]["filter"] == leadership
    assert revoked_one["learners"] == created["learners"] == ["ann@example.com"]
    assert created["program_name"] == "Leadership" and created["contract_name"] == "Unlimited"
    assert updated["learners"] == ["learner1@example.com"]
    first = entries[-1]
    assert first["details"] == {
        "import_id": committed.json()["id"],
        "file_name": "learners.csv",
        "rows": 3,
        "skipped": {},
        "errors": 0,
        "send_emails": True,
    }
    verdict = get(service, acme, "/api/v1/audit/verify")
    assert verdict == {"whole": True, "checked": 8, "broken_at": None, "problem": None}


def test_filters_pages_and_a_managers_programs(service: Service) -> None:
    acme = service.acme
    upload_and_commit(service, acme, "first", batch(2))
    invite(service, acme, "ann@example.com")
    assert len(_entries(service, action="invitation.created")) == 1
    assert len(_entries(service, actor="ADMIN@acme.example")) == 2
    assert _entries(service, actor="someone@acme.example") == []
    today, tomorrow = date.today(), date.today() + timedelta(days=1)
    assert len(_entries(service, since=today.isoformat())) == 2
    assert _entries(service, since=tomorrow.isoformat()) == []
    assert len(_entries(service, until=today.isoformat())) == 2
    assert [e["action"] for e in _entries(service, q="ann@")] == ["invitation.created"]
    page = get(service, acme, "/api/v1/audit", limit=1, offset=1)
    assert (page["total"], [e["seq"] for e in page["items"]]) == (2, [1])
    bad = service.http.get(
        "/api/v1/audit", headers=service.as_(acme), params={"action": "invitation.deleted"}
    )
    assert bad.status_code == 422 and "invitation.revoked" in bad.json()["detail"]
    # Another organization's record is its own.
    assert get(service, service.globex, "/api/v1/audit")["total"] == 0
    # A manager of Data Literacy reads that program's entries only.
    with service.sessions.begin() as session:
        session.execute(
            update(Admin).where(Admin.email == "admin@acme.example").values(role="manager")
        )
        admin_id = session.query(Admin.id).filter(Admin.email == "admin@acme.example").scalar()
        session.add(AdminProgram(admin_id=admin_id, program_id=acme.programs["Data Literacy"]))
    assert _entries(service) == []
