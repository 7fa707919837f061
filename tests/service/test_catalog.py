"""Owners change contracts and programs through the API: seats never below those in use, dates
in order, names unique; an archived one is offered nowhere and keeps its history; each change
is in the audit record with who made it and the old and new values."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from tests.service.conftest import Org, Service, get, invite, start
from tui.service.db import Admin, AuditEntry, Invitation, utcnow


def patch(service: Service, org: Org, path: str, body: dict[str, Any]) -> Any:
    return service.http.patch(f"/api/v1{path}", headers=service.as_(org), json=body)


def post(service: Service, org: Org, path: str) -> Any:
    return service.http.post(f"/api/v1{path}", headers=service.as_(org))


def entries(service: Service, action: str) -> list[tuple[str, dict[str, Any] | None]]:
    """The actor and details of Acme's audit entries of `action`, oldest first."""
    with service.sessions() as session:
        return [
            (entry.actor, entry.details)
            for entry in session.scalars(
                select(AuditEntry)
                .where(AuditEntry.organization_id == service.acme.id, AuditEntry.action == action)
                .order_by(AuditEntry.seq)
            )
        ]


def test_seats_never_below_those_in_use_and_dates_in_order(service: Service) -> None:
    acme = service.acme
    ten = f"/contracts/{acme.contracts['Ten seats']}"
    for number in range(3):
        assert invite(service, acme, f"l{number}@example.com", "Ten seats").status_code == 201

    below = patch(service, acme, ten, {"seats": 2})
    assert below.status_code == 409
    assert below.json()["code"] == "seats_in_use"
    assert below.json()["detail"].startswith("Ten seats has 3 seats in use; at least 3.")
    assert patch(service, acme, ten, {"seats": 3}).json()["seats_total"] == 3
    assert patch(service, acme, ten, {"seats": None}).json()["seats_total"] is None

    backwards = patch(service, acme, ten, {"starts_on": "2030-06-01", "ends_on": "2030-01-01"})
    assert (backwards.status_code, backwards.json()["code"]) == (422, "dates_out_of_order")
    assert patch(service, acme, ten, {"ends_on": "2030-12-31"}).status_code == 200
    late_start = patch(service, acme, ten, {"starts_on": "2031-01-01"})
    assert late_start.json()["code"] == "dates_out_of_order"
    assert "new start, 2031-01-01" in late_start.json()["detail"]

    admin = "admin@acme.example"
    assert entries(service, "contract.edited") == [
        (admin, {"seats": [10, 3]}),
        (admin, {"seats": [3, None]}),
        (admin, {"ends_on": [None, "2030-12-31"]}),
    ]


def test_names_stay_unique_in_the_organization(service: Service) -> None:
    acme, globex = service.acme, service.globex
    contract = f"/contracts/{acme.contracts['Ten seats']}"
    program = f"/programs/{acme.programs['Leadership']}"
    taken = patch(service, acme, contract, {"name": "Unlimited"})
    assert (taken.status_code, taken.json()["code"]) == (409, "name_taken")
    assert patch(service, acme, program, {"name": "Data Literacy"}).json()["code"] == "name_taken"
    assert patch(service, acme, program, {"name": " "}).json()["code"] == "invalid_input"
    nul = patch(service, acme, program, {"description": "a\u0000b"})
    assert (nul.status_code, nul.json()["code"]) == (422, "invalid_input")

    renamed = patch(service, acme, program, {"name": "Leading Teams", "description": "Six weeks"})
    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["description"]) == ("Leading Teams", "Six weeks")
    names = [p["name"] for p in get(service, acme, "/api/v1/programs")["items"]]
    assert names == ["Data Literacy", "Leading Teams"]
    assert entries(service, "program.edited") == [
        (
            "admin@acme.example",
            {"name": ["Leadership", "Leading Teams"], "description": ["", "Six weeks"]},
        )
    ]
    # Another organization's contract does not exist here.
    assert patch(service, globex, contract, {"seats": 50}).status_code == 404


def test_an_archived_contract_or_program_is_offered_nowhere_and_keeps_its_history(
    service: Service,
) -> None:
    acme = service.acme
    leadership, data = acme.programs["Leadership"], acme.programs["Data Literacy"]
    unlimited = acme.contracts["Unlimited"]
    assert invite(service, acme, "ann@example.com").status_code == 201

    assert post(service, acme, f"/contracts/{unlimited}/archive").json()["archived_at"]
    offered = get(service, acme, f"/api/v1/programs/{leadership}/contracts")["items"]
    assert unlimited not in [contract["id"] for contract in offered]
    archived = get(service, acme, f"/api/v1/programs/{leadership}/contracts", archived="true")
    assert [contract["id"] for contract in archived["items"]] == [unlimited]
    assert unlimited not in [c["id"] for c in get(service, acme, "/api/v1/usage")["contracts"]]
    # The organization's list: every contract offered, or with archived=true the archived ones.
    listed = get(service, acme, "/api/v1/contracts")["items"]
    assert [c["name"] for c in listed] == ["Expired", "Future", "Ten seats"]
    assert [c["id"] for c in get(service, acme, "/api/v1/contracts", archived="true")["items"]] == [
        unlimited
    ]

    refused = invite(service, acme, "bob@example.com")
    assert (refused.status_code, refused.json()["code"]) == (409, "archived")
    assert "archived" in refused.json()["detail"]
    started = start(service, acme, "k1")
    assert (started.status_code, started.json()["code"]) == (409, "archived")
    dry_run = service.http.post(
        f"/api/v1/programs/{leadership}/invitations/check",
        headers=service.as_(acme),
        json={
            "contract_id": unlimited,
            "rows": {"row": [2], "email": ["c@example.com"], "external_id": [None]},
        },
    )
    assert [error["code"] for error in dry_run.json()["file_errors"]] == ["archived"]
    # Ann's invitation is still listed, its contract named as archived.
    (ann,) = get(service, acme, "/api/v1/invitations", program_id=leadership)["items"]
    assert (ann["email"], ann["status"], ann["contract_name"]) == (
        "ann@example.com",
        "pending",
        "Unlimited (archived)",
    )

    assert post(service, acme, f"/programs/{data}/archive").status_code == 200
    programs = get(service, acme, "/api/v1/programs")["items"]
    assert [program["name"] for program in programs] == ["Leadership"]
    assert [
        p["name"] for p in get(service, acme, "/api/v1/programs", archived="true")["items"]
    ] == ["Data Literacy"]

    assert post(service, acme, f"/contracts/{unlimited}/restore").json()["archived_at"] is None
    assert invite(service, acme, "bob@example.com").status_code == 201
    assert [actor for actor, _ in entries(service, "contract.archived")] == ["admin@acme.example"]
    assert (
        len(entries(service, "contract.restored")) == len(entries(service, "program.archived")) == 1
    )


def test_only_owners_change_contracts_and_programs(service: Service) -> None:
    acme = service.acme
    with service.sessions.begin() as session:
        session.execute(
            update(Admin).where(Admin.organization_id == acme.id).values(role="manager")
        )
    contract = f"/contracts/{acme.contracts['Ten seats']}"
    for response in (
        patch(service, acme, contract, {"seats": 20}),
        post(service, acme, f"{contract}/archive"),
        post(service, acme, f"/programs/{acme.programs['Leadership']}/archive"),
    ):
        assert (response.status_code, response.json()["code"]) == (403, "forbidden_role")


def test_pending_invitations_of_an_archived_contract_stay_valid_and_expired_ones_stay_expired(
    service: Service,
) -> None:
    acme = service.acme
    ann = invite(service, acme, "ann@example.com").json()["id"]
    bob = invite(service, acme, "bob@example.com").json()["id"]
    with service.sessions.begin() as session:
        session.execute(
            update(Invitation)
            .where(Invitation.id == bob)
            .values(expires_at=utcnow() - timedelta(days=1))
        )
    assert (
        post(service, acme, f"/contracts/{acme.contracts['Unlimited']}/archive").status_code == 200
    )

    assert post(service, acme, f"/invitations/{ann}/resend").json()["status"] == "pending"
    revived = post(service, acme, f"/invitations/{bob}/resend")
    assert (revived.status_code, revived.json()["code"]) == (409, "archived")
    statuses = {i["email"]: i["status"] for i in get(service, acme, "/api/v1/invitations")["items"]}
    assert statuses == {"ann@example.com": "pending", "bob@example.com": "expired"}
