"""Roles on every route: an owner does everything, a manager acts only in their programs (the
others do not exist for them), a viewer only reads; owners manage admins and their tokens,
which the database keeps only as hashes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.service.conftest import SECRET, Org, Service, batch, get, invite, make_org, start
from tui.service import admin as operator
from tui.service.app import create_app
from tui.service.db import AuditEntry, Organization, open_database
from tui.wire.models import AdminRole

Roles = tuple[int, int, int]  # the status an owner, a manager of Data Literacy, a viewer get

# Every route of the service, (method, path) -> the status each role gets, on Acme's program
# Leadership (outside the manager's programs) and its invitation and import. Run in this
# order by the viewer, the manager, then the owner, whose changes the later rows expect.
ROUTES: dict[tuple[str, str], Roles] = {
    ("GET", "/api/v1/me"): (200, 200, 200),
    ("GET", "/api/v1/usage"): (200, 200, 200),
    ("GET", "/api/v1/programs"): (200, 200, 200),
    ("GET", "/api/v1/programs/{program_id}/contracts"): (200, 404, 200),
    ("GET", "/api/v1/learners"): (200, 404, 200),  # ?program_id=Leadership
    ("GET", "/api/v1/invitations"): (200, 404, 200),  # ?program_id=Leadership
    # A dry run changes nothing: a viewer may run one.
    ("POST", "/api/v1/programs/{program_id}/invitations/check"): (200, 404, 200),
    ("POST", "/api/v1/programs/{program_id}/invitations"): (201, 404, 403),
    ("POST", "/api/v1/invitations/{invitation_id}/resend"): (200, 404, 403),
    ("DELETE", "/api/v1/invitations/{invitation_id}"): (200, 404, 403),
    ("POST", "/api/v1/invitations/resend"): (200, 404, 403),
    ("POST", "/api/v1/invitations/remind"): (200, 404, 403),
    ("POST", "/api/v1/invitations/revoke"): (200, 404, 403),
    ("GET", "/api/v1/imports"): (200, 200, 200),
    ("POST", "/api/v1/imports"): (201, 404, 403),
    ("PUT", "/api/v1/imports/{import_id}/chunks/{seq}"): (200, 404, 403),
    ("POST", "/api/v1/imports/{import_id}/commit"): (200, 404, 403),
    ("GET", "/api/v1/imports/{import_id}/diff"): (409, 404, 403),  # a plain import: no diff
    ("DELETE", "/api/v1/imports/{import_id}"): (409, 404, 403),  # committed: 409 for owners
    ("GET", "/api/v1/imports/{import_id}"): (200, 404, 200),
    ("PUT", "/api/v1/imports/{import_id}/left-out"): (200, 404, 403),
    ("GET", "/api/v1/imports/{import_id}/left-out"): (200, 404, 200),
    # The viewer asks first, while the import is open: no results yet (409), not a refusal.
    ("GET", "/api/v1/imports/{import_id}/results"): (200, 404, 409),
    # The record: a manager reads the entries of their programs.
    ("GET", "/api/v1/audit"): (200, 200, 200),
    ("GET", "/api/v1/audit/actions"): (200, 200, 200),
    ("GET", "/api/v1/audit/verify"): (200, 200, 200),
    ("GET", "/api/v1/programs/{program_id}/members"): (200, 404, 200),
    ("POST", "/api/v1/programs/{program_id}/members/remove"): (200, 404, 403),
    ("GET", "/api/v1/organization/policy"): (200, 200, 200),
    ("PUT", "/api/v1/organization/policy"): (200, 403, 403),
    ("GET", "/api/v1/admins"): (200, 200, 200),  # to find an owner to ask
    ("POST", "/api/v1/admins"): (201, 403, 403),
    ("PATCH", "/api/v1/admins/{admin_id}"): (200, 403, 403),
    ("POST", "/api/v1/admins/{admin_id}/token"): (200, 403, 403),
    ("DELETE", "/api/v1/admins/{admin_id}"): (200, 403, 403),
    ("POST", "/api/v1/me/token"): (200, 200, 200),  # anyone's own token
    # Anyone reads the contracts; a manager those their programs use.
    ("GET", "/api/v1/contracts"): (200, 200, 200),
    # Owners change contracts and programs; each archive is restored at once, in this order.
    ("PATCH", "/api/v1/contracts/{contract_id}"): (200, 403, 403),
    ("POST", "/api/v1/contracts/{contract_id}/archive"): (200, 403, 403),
    ("POST", "/api/v1/contracts/{contract_id}/restore"): (200, 403, 403),
    ("PATCH", "/api/v1/programs/{program_id}"): (200, 403, 403),
    ("POST", "/api/v1/programs/{program_id}/archive"): (200, 403, 403),
    ("POST", "/api/v1/programs/{program_id}/restore"): (200, 403, 403),
    # The learners' side and the documentation: no admin at all.
    ("GET", "/invitations/{token}"): (404, 404, 404),
    ("POST", "/invitations/{token}/accept"): (404, 404, 404),
    ("GET", "/openapi.json"): (200, 200, 200),
    ("GET", "/docs"): (200, 200, 200),
    ("GET", "/docs/oauth2-redirect"): (200, 200, 200),
    ("GET", "/redoc"): (200, 200, 200),
}


def every_route(service: Service) -> set[tuple[str, str]]:
    """Every (method, path) the app answers: its API as its OpenAPI document lists it, and the
    plain routes beside it (the documentation's)."""
    app: Any = service.http.app
    found = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    for route in app.routes:
        if hasattr(route, "path") and getattr(route, "methods", None):
            found |= {(method, route.path) for method in route.methods if method != "HEAD"}
    return found


def add_admin(service: Service, role: AdminRole, programs: tuple[str, ...] = ()) -> str:
    """A new admin of Acme with this role (a manager named for `programs`); their token."""
    with service.sessions.begin() as session:
        organization = session.get_one(Organization, service.acme.id)
        named = [operator.find_program(session, organization.id, name) for name in programs]
        _, token = operator.create_admin(
            session, organization, f"{role}{len(programs)}@acme.example", role, named
        )
    return token


def headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_table_names_every_route(service: Service) -> None:
    routes = every_route(service)
    assert sorted(routes - set(ROUTES)) == [], "classify these routes in ROUTES"
    assert sorted(set(ROUTES) - routes) == [], "these routes are gone"


def test_every_route_answers_each_role_as_the_table_says(service: Service) -> None:
    acme, http = service.acme, service.http
    leadership, unlimited = acme.programs["Leadership"], acme.contracts["Unlimited"]
    invitation = invite(service, acme, "ann@example.com").json()["id"]
    import_id = start(service, acme, "table").json()["id"]
    victim = add_admin(service, "viewer", ())
    victim_id = get(service, acme, "/api/v1/admins")["items"][-1]["id"]
    assert victim and victim_id
    ids = {
        "program_id": leadership,
        "invitation_id": invitation,
        "import_id": import_id,
        "seq": 0,
        "admin_id": victim_id,
        "contract_id": unlimited,
        "token": "no-such-token",
    }
    rows = batch(1, start=100)
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/api/v1/programs/{program_id}/invitations/check"): {
            "json": {
                "contract_id": unlimited,
                "rows": {k: rows[k] for k in ("row", "email", "external_id")},
            }
        },
        ("POST", "/api/v1/programs/{program_id}/invitations"): {
            "json": {"full_name": "Bo", "email": "bo@example.com", "contract_id": unlimited}
        },
        ("POST", "/api/v1/imports"): {
            "json": {"program_id": leadership, "contract_id": unlimited, "send_emails": True}
        },
        ("PUT", "/api/v1/imports/{import_id}/chunks/{seq}"): {"json": rows},
        ("POST", "/api/v1/imports/{import_id}/commit"): {"json": {"rows": 1}},
        ("GET", "/api/v1/imports/{import_id}/diff"): {"params": {"rows": 1}},
        ("PUT", "/api/v1/imports/{import_id}/left-out"): {
            "json": {"row": [], "full_name": [], "email": [], "external_id": [], "error": []}
        },
        ("POST", "/api/v1/admins"): {"json": {"email": "new@acme.example", "role": "viewer"}},
        ("PATCH", "/api/v1/admins/{admin_id}"): {"json": {"role": "manager"}},
        ("PATCH", "/api/v1/contracts/{contract_id}"): {"json": {"seats": 500}},
        ("PATCH", "/api/v1/programs/{program_id}"): {"json": {"description": "Six weeks."}},
        ("POST", "/api/v1/programs/{program_id}/members/remove"): {
            "json": {"emails": ["nobody@example.com"]}
        },
        ("PUT", "/api/v1/organization/policy"): {
            "json": {"invitation_lifetime_days": 14, "remind_after_days": 7}
        },
    }
    for selection in ("resend", "remind", "revoke"):
        bodies["POST", f"/api/v1/invitations/{selection}"] = {"json": {"program_id": leadership}}
    for scoped in ("/api/v1/learners", "/api/v1/invitations"):
        bodies["GET", scoped] = {"params": {"program_id": leadership}}

    tokens = {
        "viewer": add_admin(service, "viewer"),
        "manager": add_admin(service, "manager", ("Data Literacy",)),
        "owner": acme.token,
    }
    answered: dict[tuple[str, str, str], int] = {}
    for role in ("viewer", "manager", "owner"):
        for method, path in ROUTES:
            extra = bodies.get((method, path), {})
            response = http.request(
                method,
                path.format(**ids),
                headers={**headers(tokens[role]), "Idempotency-Key": f"{role}-key"},
                **extra,
            )
            answered[method, path, role] = response.status_code
            if response.status_code == 403:
                assert response.json()["code"] == "forbidden_role"
            if path == "/api/v1/me/token" and response.status_code == 200:
                tokens[role] = response.json()["token"]  # the old one opens nothing now
    want = {
        (method, path, role): roles[index]
        for (method, path), roles in ROUTES.items()
        for index, role in enumerate(("owner", "manager", "viewer"))
    }
    assert {key: status for key, status in answered.items() if want[key] != status} == {}


def test_a_manager_sees_and_counts_only_their_programs(service: Service) -> None:
    acme = service.acme
    invite(service, acme, "ann@example.com")  # in Leadership
    data = acme.programs["Data Literacy"]
    manager = Org(acme.id, add_admin(service, "manager", ("Data Literacy",)))
    viewer = Org(acme.id, add_admin(service, "viewer"))

    me = get(service, manager, "/api/v1/me")
    assert (me["role"], me["programs"]) == ("manager", [data])
    assert [p["id"] for p in get(service, manager, "/api/v1/programs")["items"]] == [data]
    for path in ("/api/v1/invitations", "/api/v1/learners", "/api/v1/imports"):
        assert get(service, manager, path)["total"] == 0, path
        assert get(service, viewer, path)["total"] >= (0 if "imports" in path else 1), path
    usage = get(service, manager, "/api/v1/usage")
    assert (usage["programs"], usage["learners"], usage["pending_invitations"]) == (1, 0, 0)
    assert {c["name"] for c in usage["contracts"]} == {"Unlimited"}  # Data Literacy's only
    assert [c["name"] for c in get(service, manager, "/api/v1/contracts")["items"]] == ["Unlimited"]
    assert get(service, viewer, "/api/v1/me")["role"] == "viewer"
    assert get(service, viewer, "/api/v1/usage")["pending_invitations"] == 1


def test_a_rotated_token_and_a_removed_admin_open_nothing(service: Service) -> None:
    acme, http = service.acme, service.http
    added = http.post(
        "/api/v1/admins",
        headers=service.as_(acme),
        json={
            "email": "mia@acme.example",
            "role": "manager",
            "programs": [acme.programs["Data Literacy"]],
        },
    )
    assert added.status_code == 201, added.text
    old, mia = added.json()["token"], added.json()["admin"]
    assert http.get("/api/v1/me", headers=headers(old)).json()["admin_email"] == "mia@acme.example"

    rotated = http.post(f"/api/v1/admins/{mia['id']}/token", headers=service.as_(acme)).json()
    assert http.get("/api/v1/me", headers=headers(old)).status_code == 401
    assert http.get("/api/v1/me", headers=headers(rotated["token"])).status_code == 200
    mine = http.post("/api/v1/me/token", headers=headers(rotated["token"])).json()["token"]
    assert http.get("/api/v1/me", headers=headers(rotated["token"])).status_code == 401
    assert http.get("/api/v1/me", headers=headers(mine)).status_code == 200

    listed = get(service, acme, "/api/v1/admins")["items"]
    assert all("token" not in item and "token_hash" not in item for item in listed)
    removed = http.delete(f"/api/v1/admins/{mia['id']}", headers=service.as_(acme))
    assert removed.status_code == 200, removed.text
    assert http.get("/api/v1/me", headers=headers(mine)).status_code == 401
    assert "mia@acme.example" not in str(get(service, acme, "/api/v1/admins"))

    owner_id = get(service, acme, "/api/v1/admins")["items"][0]["id"]
    last = http.delete(f"/api/v1/admins/{owner_id}", headers=service.as_(acme))
    assert (last.status_code, last.json()["code"]) == (409, "last_owner")
    demoted = http.patch(
        f"/api/v1/admins/{owner_id}", headers=service.as_(acme), json={"role": "viewer"}
    )
    assert (demoted.status_code, demoted.json()["code"]) == (409, "last_owner")
    assert http.get("/api/v1/me", headers=service.as_(acme)).status_code == 200

    with service.sessions() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.organization_id == acme.id).order_by(AuditEntry.seq)
        ).all()
    assert [(e.action, e.actor) for e in entries] == [
        ("admin.added", "admin@acme.example"),
        ("admin.token_rotated", "admin@acme.example"),
        ("admin.token_rotated", "mia@acme.example"),
        ("admin.removed", "admin@acme.example"),
    ]
    assert entries[0].details == {
        "email": "mia@acme.example",
        "role": "manager",
        "programs": [acme.programs["Data Literacy"]],
    }
    assert not any(token in str(e.details) for e in entries for token in (old, mine))


def test_a_copy_of_the_database_holds_no_token(tmp_path: Path) -> None:
    database = tmp_path / "roster.db"
    sessions = open_database(f"sqlite:///{database}")
    acme = make_org(sessions, "Acme")
    tokens = [acme.token]
    with TestClient(create_app(sessions, secret=SECRET)) as http:
        owner = headers(acme.token)
        added = http.post(
            "/api/v1/admins", headers=owner, json={"email": "v@a.example", "role": "viewer"}
        )
        tokens.append(added.json()["token"])
        tokens.append(
            http.post(f"/api/v1/admins/{added.json()['admin']['id']}/token", headers=owner).json()[
                "token"
            ]
        )
        assert http.get("/api/v1/me", headers=headers(tokens[-1])).status_code == 200
    sessions.kw["bind"].dispose()
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("roster.db*"))
    assert b"admin@acme.example" in stored  # the file is readable as it is
    for token in tokens:
        assert token.encode() not in stored
        assert token.split("_", 1)[1].encode() not in stored


@pytest.mark.parametrize("role", ["viewer", "manager"])
def test_only_an_owner_manages_admins(service: Service, role: AdminRole) -> None:
    token = add_admin(service, role)
    response = service.http.post(
        "/api/v1/admins", headers=headers(token), json={"email": "x@y.example", "role": "owner"}
    )
    assert (response.status_code, response.json()["code"]) == (403, "forbidden_role")
    assert "owner" in response.json()["detail"]
