"""Imports happen exactly once: retried requests, re-run files and races invite nobody twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tests.service.conftest import Service, batch, count, start, upload_and_commit
from tui.service.db import Invitation, Learner, OutboxMessage, utcnow


def test_the_same_idempotency_key_returns_the_same_import(service: Service) -> None:
    first, again = start(service, service.acme, "k-1"), start(service, service.acme, "k-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert start(service, service.acme, "k-2").json()["id"] != first.json()["id"]
    missing = service.http.post(
        "/api/v1/imports",
        headers=service.as_(service.acme),
        json={"program_id": 1, "contract_id": 1, "send_emails": True},
    )
    assert missing.json()["code"] == "idempotency_key_required"


def test_a_chunk_is_idempotent_per_sequence_number(service: Service) -> None:
    acme = service.acme
    import_id = start(service, acme, "k").json()["id"]
    path = f"/api/v1/imports/{import_id}/chunks/0"
    for _ in range(3):
        assert service.http.put(path, headers=service.as_(acme), json=batch(5)).status_code == 200
    other = service.http.put(path, headers=service.as_(acme), json=batch(5, start=9))
    assert (other.status_code, other.json()["code"]) == (409, "chunk_conflict")
    status = service.http.get(f"/api/v1/imports/{import_id}", headers=service.as_(acme)).json()
    assert status["chunks"] == 1


def test_a_chunk_as_csv_is_the_same_chunk_as_its_json(service: Service) -> None:
    acme = service.acme
    import_id = start(service, acme, "k").json()["id"]
    path = f"/api/v1/imports/{import_id}/chunks/0"
    as_csv = {**service.as_(acme), "Content-Type": "text/csv; charset=utf-8"}
    sent = (
        'row,full_name,email,external_id\n2,"Zoë ""Z"", Ö",zoe@example.com,\n'
        '3,Bob,bob@example.com,"B,1"\n'
    )
    assert service.http.put(path, headers=as_csv, content=sent.encode()).json() == {
        "seq": 0,
        "rows": 2,
    }
    rows = {
        "row": [2, 3],
        "full_name": ['Zoë "Z", Ö', "Bob"],
        "email": ["zoe@example.com", "bob@example.com"],
        "external_id": [None, "B,1"],
    }
    assert service.http.put(path, headers=service.as_(acme), json=rows).status_code == 200
    other = service.http.put(path, headers=as_csv, content=sent.replace("Bob", "Rob").encode())
    assert (other.status_code, other.json()["code"]) == (409, "chunk_conflict")
    headless = service.http.put(path.replace("/0", "/1"), headers=as_csv, content=b"2,A,a@b.c,\n")
    assert (headless.status_code, headless.json()["code"]) == (422, "invalid_request")
    committed = service.http.post(
        f"/api/v1/imports/{import_id}/commit", headers=service.as_(acme), json={"rows": 2}
    ).json()
    assert committed["invited"] == 2
    with service.sessions() as session:
        stored = session.execute(select(Learner.full_name, Learner.external_id)).all()
    assert sorted(stored) == [("Bob", "B,1"), ('Zoë "Z", Ö', None)]


def test_commit_creates_invitations_and_their_emails_once(service: Service) -> None:
    committed = upload_and_commit(service, service.acme, "k", batch(120))
    assert committed.status_code == 200, committed.text
    body = committed.json()
    assert (body["status"], body["invited"], body["emails_queued"]) == ("committed", 120, 120)
    import_id = body["id"]
    again = service.http.post(
        f"/api/v1/imports/{import_id}/commit", headers=service.as_(service.acme), json={"rows": 120}
    )
    assert again.json()["invited"] == 120
    assert count(service, Invitation) == 120
    assert count(service, OutboxMessage) == 120
    assert count(service, Invitation, Invitation.email_status == "queued") == 120


def test_create_invitations_queues_no_email(service: Service) -> None:
    body = upload_and_commit(service, service.acme, "k", batch(30), send=False).json()
    assert (body["invited"], body["emails_queued"]) == (30, 0)
    assert count(service, OutboxMessage) == 0
    assert count(service, Invitation, Invitation.email_status == "created") == 30


def test_a_rerun_of_the_same_file_invites_nobody_twice(service: Service) -> None:
    upload_and_commit(service, service.acme, "run-1", batch(40))
    rerun = upload_and_commit(service, service.acme, "run-2", batch(60)).json()
    assert rerun["invited"] == 20
    assert rerun["skipped"] == {"already_invited": 40}
    assert {issue["code"] for issue in rerun["issues"]} == {"already_invited"}
    assert count(service, Invitation) == 60
    assert count(service, OutboxMessage) == 60


def test_the_commit_checks_again_what_changed_since_the_upload(service: Service) -> None:
    acme = service.acme
    import_id = start(service, acme, "k").json()["id"]
    service.http.put(
        f"/api/v1/imports/{import_id}/chunks/0", headers=service.as_(acme), json=batch(10)
    )
    single = service.http.post(
        f"/api/v1/programs/{acme.programs['Leadership']}/invitations",
        headers=service.as_(acme),
        json={
            "full_name": "Learner 3",
            "email": "LEARNER3@example.com",
            "contract_id": acme.contracts["Unlimited"],
        },
    )
    assert single.status_code == 201
    body = service.http.post(
        f"/api/v1/imports/{import_id}/commit", headers=service.as_(acme), json={"rows": 10}
    ).json()
    assert (body["invited"], body["skipped"]) == (9, {"already_invited": 1})
    assert count(service, Invitation) == 10


def test_a_commit_over_capacity_writes_nothing(service: Service) -> None:
    response = upload_and_commit(service, service.acme, "k", batch(11), contract="Ten seats")
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "contract_capacity"
    assert "10 seats left" in problem["detail"]
    assert count(service, Invitation) == 0
    assert count(service, Learner) == 0
    fits = upload_and_commit(service, service.acme, "k2", batch(10), contract="Ten seats")
    assert fits.json()["invited"] == 10


def test_an_incomplete_upload_cannot_commit(service: Service) -> None:
    acme = service.acme
    import_id = start(service, acme, "k").json()["id"]
    service.http.put(
        f"/api/v1/imports/{import_id}/chunks/0", headers=service.as_(acme), json=batch(10)
    )
    response = service.http.post(
        f"/api/v1/imports/{import_id}/commit", headers=service.as_(acme), json={"rows": 25}
    )
    assert (response.status_code, response.json()["code"]) == (409, "incomplete_import")
    assert "received 10 of the 25 rows" in response.json()["detail"]
    assert count(service, Invitation) == 0


@pytest.mark.parametrize("contract", ["Expired", "Future"])
def test_unavailable_contracts_are_a_file_error(service: Service, contract: str) -> None:
    acme = service.acme
    checked = service.http.post(
        f"/api/v1/programs/{acme.programs['Leadership']}/invitations/check",
        headers=service.as_(acme),
        json={"contract_id": acme.contracts[contract], "rows": batch(3)},
    ).json()
    assert [error["code"] for error in checked["file_errors"]] == ["contract_unavailable"]
    response = upload_and_commit(service, acme, "k", batch(3), contract=contract)
    assert response.json()["code"] == "contract_unavailable"


def test_the_service_rechecks_rows_and_flags_external_id_conflicts(service: Service) -> None:
    upload_and_commit(service, service.acme, "k", batch(2))
    rows: dict[str, list[Any]] = {
        "row": [2, 3, 4],
        "full_name": ["New Person", "", "Other"],
        "email": ["new@example.com", "blank@example.com", "not an email"],
        "external_id": ["E0", None, None],  # E0 belongs to learner0@example.com
    }
    body = upload_and_commit(service, service.acme, "k2", rows).json()
    codes = {(issue["row"], issue["code"]) for issue in body["issues"]}
    assert codes == {(2, "external_id_conflict"), (3, "missing_full_name"), (4, "invalid_email")}
    assert (body["invited"], body["errors"]) == (0, 3)


def test_the_database_allows_one_pending_invitation_per_program_and_learner(
    service: Service,
) -> None:
    upload_and_commit(service, service.acme, "k", batch(1))
    with service.sessions() as session:
        first = session.scalars(select(Invitation)).one()
        twin = Invitation(
            organization_id=first.organization_id,
            program_id=first.program_id,
            contract_id=first.contract_id,
            learner_id=first.learner_id,
            status="pending",
            token_key="another",
            expires_at=utcnow() + timedelta(days=1),
        )
        session.add(twin)
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        twin.status = "revoked"
        session.add(twin)
        session.commit()  # a revoked one beside it is fine
