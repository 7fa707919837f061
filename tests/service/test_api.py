"""The /api/v1 endpoints through httpx, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.service.conftest import SECRET, Service, get, invite
from tui.service.links import link_token

ROWS = {"row": [2], "full_name": ["Ann Lee"], "email": ["ann@example.com"], "external_id": ["A1"]}


def test_no_token_or_a_wrong_one_is_401_problem_json(service: Service) -> None:
    for headers in ({}, {"Authorization": "Bearer rst_wrong"}, {"Authorization": "Basic x"}):
        response = service.http.get("/api/v1/me", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "unauthorized"


def test_me_names_the_admin_and_organization(service: Service) -> None:
    me = get(service, service.acme, "/api/v1/me")
    assert me["admin_email"] == "admin@acme.example"
    assert me["organization"]["name"] == "Acme"


def test_contracts_say_seats_dates_and_why_they_cannot_be_chosen(service: Service) -> None:
    acme = service.acme
    contracts = get(service, acme, f"/api/v1/programs/{acme.programs['Leadership']}/contracts")
    by_name = {contract["name"]: contract for contract in contracts["items"]}
    assert set(by_name) == {"Unlimited", "Ten seats", "Expired", "Future"}
    assert by_name["Unlimited"]["seats_total"] is None
    assert by_name["Unlimited"]["available"] is True
    assert (by_name["Ten seats"]["seats_left"], by_name["Ten seats"]["available"]) == (10, True)
    assert by_name["Expired"]["available"] is False
    assert by_name["Expired"]["unavailable_reason"].startswith("expired on")
    assert by_name["Future"]["unavailable_reason"].startswith("starts on")
    data_contracts = get(
        service, acme, f"/api/v1/programs/{acme.programs['Data Literacy']}/contracts"
    )
    assert [contract["name"] for contract in data_contracts["items"]] == ["Unlimited"]


def test_pending_invitations_hold_seats_until_revoked(service: Service) -> None:
    acme = service.acme
    created = invite(service, acme, "ann@example.com", contract="Ten seats")
    assert created.status_code == 201, created.text
    path = f"/api/v1/programs/{acme.programs['Leadership']}/contracts"
    seats = {c["name"]: c["seats_left"] for c in get(service, acme, path)["items"]}
    assert seats["Ten seats"] == 9
    revoked = service.http.delete(
        f"/api/v1/invitations/{created.json()['id']}", headers=service.as_(acme)
    )
    assert revoked.json()["status"] == "revoked"
    seats = {c["name"]: c["seats_left"] for c in get(service, acme, path)["items"]}
    assert seats["Ten seats"] == 10


def test_invite_one_learner_follows_the_file_rules(service: Service) -> None:
    bad = invite(service, service.acme, "not-an-email")
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_email"
    assert bad.headers["content-type"] == "application/problem+json"
    assert invite(service, service.acme, "Ann@Example.com").status_code == 201
    again = invite(service, service.acme, "ann@example.com")
    assert again.status_code == 409
    assert again.json()["code"] == "already_invited"
    expired = invite(service, service.acme, "bob@example.com", contract="Expired")
    assert expired.json()["code"] == "contract_unavailable"


def test_programs_and_learners_are_searchable_and_paginated(service: Service) -> None:
    acme = service.acme
    found = get(service, acme, "/api/v1/programs", q="lead")
    assert [program["name"] for program in found["items"]] == ["Leadership"]
    for index in range(7):
        assert invite(service, acme, f"learner{index}@example.com").status_code == 201
    page = get(service, acme, "/api/v1/learners", limit=5, offset=5)
    assert (page["total"], len(page["items"])) == (7, 2)
    assert page["items"][0]["programs"][0]["status"] == "pending"
    one = get(service, acme, "/api/v1/learners", q="learner3")
    assert [learner["email"] for learner in one["items"]] == ["learner3@example.com"]
    invitations = get(service, acme, "/api/v1/invitations", status="pending", limit=3)
    assert (invitations["total"], len(invitations["items"])) == (7, 3)
    assert get(service, acme, "/api/v1/programs", q="lead")["items"][0]["pending"] == 7


def test_usage_counts_learners_pending_and_seats(service: Service) -> None:
    invite(service, service.acme, "ann@example.com", contract="Ten seats")
    usage = get(service, service.acme, "/api/v1/usage")
    assert (usage["learners"], usage["pending_invitations"]) == (1, 1)
    seats = {contract["name"]: contract["seats_used"] for contract in usage["contracts"]}
    assert seats["Ten seats"] == 1


def test_the_learner_accepts_and_becomes_a_member(service: Service) -> None:
    created = invite(service, service.acme, "ann@example.com").json()
    with service.sessions() as session:
        from tui.service.db import Invitation

        token = link_token(SECRET, session.get_one(Invitation, created["id"]).token_key)
    page = service.http.get(f"/invitations/{token}")
    assert "Acme invites you to Leadership" in page.text
    assert service.http.post(f"/invitations/{token}/accept").json()["status"] == "accepted"
    again = invite(service, service.acme, "ann@example.com")
    assert again.json()["code"] == "already_member"


def test_every_resource_of_another_organization_is_404(service: Service) -> None:
    acme, globex = service.acme, service.globex
    invitation = invite(service, acme, "ann@example.com").json()
    started = service.http.post(
        "/api/v1/imports",
        headers={**service.as_(acme), "Idempotency-Key": "k1"},
        json={
            "program_id": acme.programs["Leadership"],
            "contract_id": acme.contracts["Unlimited"],
            "send_emails": False,
        },
    ).json()
    program, contract = acme.programs["Leadership"], acme.contracts["Unlimited"]
    globex_contract = globex.contracts["Unlimited"]
    as_globex = service.as_(globex)
    requests = [
        ("GET", f"/api/v1/programs/{program}/contracts", None),
        ("GET", f"/api/v1/learners?program_id={program}", None),
        ("GET", f"/api/v1/invitations?program_id={program}", None),
        (
            "POST",
            f"/api/v1/programs/{program}/invitations",
            {"full_name": "X", "email": "x@example.com", "contract_id": globex_contract},
        ),
        (
            "POST",
            f"/api/v1/programs/{globex.programs['Leadership']}/invitations",
            {"full_name": "X", "email": "x@example.com", "contract_id": contract},
        ),
        (
            "POST",
            f"/api/v1/programs/{program}/invitations/check",
            {"contract_id": contract, "rows": ROWS},
        ),
        ("PUT", f"/api/v1/imports/{started['id']}/chunks/0", ROWS),
        ("POST", f"/api/v1/imports/{started['id']}/commit", {"rows": 1}),
        ("GET", f"/api/v1/imports/{started['id']}", None),
        ("POST", f"/api/v1/invitations/{invitation['id']}/resend", None),
        ("DELETE", f"/api/v1/invitations/{invitation['id']}", None),
        (
            "POST",
            "/api/v1/imports",
            {"program_id": program, "contract_id": contract, "send_emails": False},
        ),
    ]
    for method, path, body in requests:
        headers = {**as_globex, "Idempotency-Key": "globex-1"}
        response = service.http.request(method, path, headers=headers, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert get(service, globex, "/api/v1/imports")["total"] == 0
    assert get(service, globex, "/api/v1/learners")["total"] == 0
    assert get(service, acme, "/api/v1/invitations")["items"][0]["status"] == "pending"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/programs?limit=0",
        "/api/v1/programs?limit=100000",
        # Beyond a database integer: refused, not a 500 from the driver.
        "/api/v1/invitations?ids=99999999999999999999",
        "/api/v1/invitations?ids=1&ids=-1",
    ],
)
def test_bad_parameters_are_422_problem_json(service: Service, path: str) -> None:
    response = service.http.get(path, headers=service.as_(service.acme))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_the_learner_search_ignores_accents_and_case(service: Service) -> None:
    acme = service.acme
    response = service.http.post(
        f"/api/v1/programs/{acme.programs['Leadership']}/invitations",
        headers=service.as_(acme),
        json={
            "full_name": "Élodie Brûlé",
            "email": "e.brule@example.com",
            "external_id": "ÉMP-7",
            "contract_id": acme.contracts["Unlimited"],
            "send_email": False,
        },
    )
    assert response.status_code == 201, response.text
    for query in ("elodie", "BRULE", "brûlé", "E.Brule@", "emp-7"):
        found = get(service, acme, "/api/v1/learners", q=query)
        assert [learner["full_name"] for learner in found["items"]] == ["Élodie Brûlé"], query
    assert get(service, acme, "/api/v1/learners", q="100%")["total"] == 0


def test_learners_from_before_the_search_key_are_found_after_the_upgrade(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, text

    from tui.service.schema import MIGRATIONS

    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
        connection.execute(
            text(
                "INSERT INTO organizations (id, name, is_demo, created_at) "
                "VALUES (1, 'Acme', 0, '2026-01-01')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO learners (organization_id, email, email_key, full_name, "
                "external_id, created_at) VALUES (1, 'jose@example.com', 'jose@example.com', "
                "'José Núñez', NULL, '2026-01-01')"
            )
        )
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        keys = connection.execute(text("SELECT search_key FROM learners")).scalars().all()
    assert keys == ["jose nunez jose@example.com "]
