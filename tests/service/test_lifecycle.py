"""An invitation's life after the commit: expiry as a condition of every query, resend and
revoke taking and freeing seats, refused imports, and the wire's datetimes and bounds."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from tests.service.conftest import (
    SECRET,
    Service,
    batch,
    count,
    get,
    invite,
    start,
    upload_and_commit,
)
from tui.service.db import ImportChunk, Invitation, OutboxMessage, utcnow
from tui.service.links import link_token


def expire(service: Service, *invitation_ids: int) -> None:
    """Move invitations past their expiry, as time would: only expires_at changes."""
    with service.sessions.begin() as session:
        session.execute(
            update(Invitation)
            .where(Invitation.id.in_(invitation_ids))
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )


def stored_statuses(service: Service) -> list[str]:
    with service.sessions() as session:
        return list(session.scalars(select(Invitation.status).order_by(Invitation.id)))


def post(service: Service, path: str) -> Any:
    return service.http.post(path, headers=service.as_(service.acme))


def test_an_expired_invitation_holds_no_seat_and_reads_never_write(service: Service) -> None:
    acme = service.acme
    first = invite(service, acme, "ann@example.com", contract="Ten seats").json()
    for n in range(9):
        assert invite(service, acme, f"l{n}@example.com", contract="Ten seats").status_code == 201
    assert invite(service, acme, "late@example.com", contract="Ten seats").status_code == 409

    expire(service, first["id"])
    listed = get(service, acme, "/api/v1/invitations", status="expired")
    assert [item["id"] for item in listed["items"]] == [first["id"]]
    assert get(service, acme, "/api/v1/invitations", status="pending")["total"] == 9
    contracts = get(service, acme, f"/api/v1/programs/{acme.programs['Leadership']}/contracts")
    ten = next(item for item in contracts["items"] if item["name"] == "Ten seats")
    assert (ten["seats_used"], ten["seats_left"], ten["available"]) == (9, 1, True)
    assert get(service, acme, "/api/v1/usage")["pending_invitations"] == 9
    assert stored_statuses(service).count("pending") == 10  # GETs wrote nothing

    # The seat is free, and the learner is not "already invited" any more.
    again = invite(service, acme, "ann@example.com", contract="Ten seats")
    assert again.status_code == 201, again.text
    assert stored_statuses(service)[0] == "expired"


def test_resend_renews_a_pending_invitation_and_revives_an_expired_one_if_a_seat_is_left(
    service: Service,
) -> None:
    acme = service.acme
    ids = [
        invite(service, acme, f"l{n}@example.com", contract="Ten seats").json()["id"]
        for n in range(10)
    ]
    resent = post(service, f"/api/v1/invitations/{ids[0]}/resend")
    assert resent.status_code == 200
    assert resent.json()["email_status"] == "queued"

    expire(service, ids[1])
    assert invite(service, acme, "new@example.com", contract="Ten seats").status_code == 201
    refused = post(service, f"/api/v1/invitations/{ids[1]}/resend")
    assert refused.status_code == 409
    assert (refused.json()["code"], refused.json()["seats_left"]) == ("contract_capacity", 0)

    assert (
        service.http.delete(f"/api/v1/invitations/{ids[2]}", headers=service.as_(acme)).json()[
            "status"
        ]
        == "revoked"
    )
    revived = post(service, f"/api/v1/invitations/{ids[1]}/resend")
    assert revived.status_code == 200, revived.text
    body = revived.json()
    assert body["status"] == "pending"
    assert datetime.fromisoformat(body["expires_at"]) > datetime.fromisoformat(
        body["created_at"]
    ) + timedelta(days=29)
    assert post(service, f"/api/v1/invitations/{ids[2]}/resend").json()["code"] == "not_pending"


def test_a_revoked_invitation_frees_its_seat_and_its_email_is_not_sent(service: Service) -> None:
    acme = service.acme
    invitation = invite(service, acme, "ann@example.com", contract="Ten seats").json()
    revoked = service.http.delete(
        f"/api/v1/invitations/{invitation['id']}", headers=service.as_(acme)
    )
    assert revoked.json()["status"] == "revoked"
    assert revoked.json()["email_status"] == "failed"
    assert "revoked" in revoked.json()["email_error"]
    contracts = get(service, acme, f"/api/v1/programs/{acme.programs['Leadership']}/contracts")
    assert next(c for c in contracts["items"] if c["name"] == "Ten seats")["seats_used"] == 0


def test_a_refused_commit_ends_the_import_rejected_and_drops_its_rows(service: Service) -> None:
    response = upload_and_commit(service, service.acme, "k", batch(11), contract="Ten seats")
    assert response.status_code == 409
    import_id = get(service, service.acme, "/api/v1/imports")["items"][0]["id"]
    status = get(service, service.acme, f"/api/v1/imports/{import_id}")
    assert status["status"] == "rejected"
    assert count(service, ImportChunk) == 0
    again = service.http.post(
        f"/api/v1/imports/{import_id}/commit", headers=service.as_(service.acme), json={"rows": 11}
    )
    assert again.json()["code"] == "import_rejected"


def test_an_idempotency_key_reused_for_another_import_is_422(service: Service) -> None:
    first = start(service, service.acme, "key-1")
    assert first.status_code == 201
    other = start(service, service.acme, "key-1", send=False)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert start(service, service.acme, "key-1").json()["id"] == first.json()["id"]


def test_datetimes_carry_an_offset(service: Service) -> None:
    invitation = invite(service, service.acme, "ann@example.com").json()
    for field in ("created_at", "expires_at"):
        assert datetime.fromisoformat(invitation[field]).utcoffset() == timedelta(0)
    schema = service.http.get("/openapi.json").json()["components"]["schemas"]["Invitation"]
    assert schema["properties"]["created_at"]["format"] == "date-time"


def test_out_of_range_ids_offsets_and_rows_are_404_or_422_never_500(service: Service) -> None:
    acme = service.acme
    huge = 2**70
    for path in (f"/api/v1/imports/{huge}", f"/api/v1/programs/{huge}/contracts"):
        response = service.http.get(path, headers=service.as_(acme))
        assert response.status_code in (404, 422)
        assert response.headers["content-type"] == "application/problem+json"
    assert (
        service.http.get(
            "/api/v1/invitations", headers=service.as_(acme), params={"offset": huge}
        ).status_code
        == 422
    )
    import_id = start(service, acme, "k").json()["id"]
    for rows in (
        {**batch(2), "row": [-1, 3]},
        {**batch(2), "email": ["only-one@example.com"]},
    ):
        response = service.http.put(
            f"/api/v1/imports/{import_id}/chunks/0", headers=service.as_(acme), json=rows
        )
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "invalid_request"
    check = service.http.post(
        f"/api/v1/programs/{acme.programs['Leadership']}/invitations/check",
        headers=service.as_(acme),
        json={
            "contract_id": acme.contracts["Unlimited"],
            "rows": {"row": [2, 3], "email": ["a@example.com"], "external_id": [None]},
        },
    )
    assert check.status_code == 422


def test_nul_and_control_characters_are_row_errors_on_every_database(service: Service) -> None:
    acme = service.acme
    for fields in (
        {"full_name": "Ann\x00Lee", "email": "ann@example.com", "external_id": None},
        {"full_name": "Ann Lee", "email": "ann\x00@example.com", "external_id": None},
        {"full_name": "Ann Lee", "email": "ann@example.com", "external_id": "A\x001"},
    ):
        response = service.http.post(
            f"/api/v1/programs/{acme.programs['Leadership']}/invitations",
            headers=service.as_(acme),
            json={**fields, "contract_id": acme.contracts["Unlimited"]},
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
    rows = {**batch(1), "external_id": ["X\x00"]}
    committed = upload_and_commit(service, acme, "nul", rows)
    assert committed.status_code == 200, committed.text
    assert (committed.json()["invited"], committed.json()["errors"]) == (0, 1)


def test_bulk_revoke_and_resend_act_on_ids_or_a_filter_and_say_what_they_left(
    service: Service,
) -> None:
    acme = service.acme
    ids = [
        invite(service, acme, f"l{n}@example.com", contract="Ten seats").json()["id"]
        for n in range(5)
    ]
    other = invite(service, service.globex, "g@example.com").json()["id"]

    def bulk(action: str, **selection: Any) -> Any:
        return service.http.post(
            f"/api/v1/invitations/{action}", headers=service.as_(acme), json=selection
        )

    revoked = bulk("revoke", ids=[ids[0], ids[1], other])
    assert revoked.json() == {"matched": 2, "changed": 2, "left": {}}  # Globex's is not ours
    expire(service, ids[2])
    resent = bulk("resend", program_id=acme.programs["Leadership"])
    assert resent.json() == {"matched": 5, "changed": 2, "left": {"not_pending": 3}}
    statuses = {
        item["id"]: (item["status"], item["email_status"])
        for item in get(service, acme, "/api/v1/invitations")["items"]
    }
    assert statuses[ids[0]] == ("revoked", "failed")
    assert statuses[ids[2]] == ("expired", "queued")
    assert statuses[ids[3]] == statuses[ids[4]] == ("pending", "queued")
    contracts = get(service, acme, f"/api/v1/programs/{acme.programs['Leadership']}/contracts")
    assert next(c for c in contracts["items"] if c["name"] == "Ten seats")["seats_used"] == 2
    assert bulk("revoke").status_code == 422  # naming nothing is not "everything"


def test_a_bulk_action_goes_batch_by_batch_through_a_filter_its_batches_leave(
    service: Service,
) -> None:
    """Revoking the pending ones two at a time: each batch leaves the filter, and the next still
    starts where the last ended (by id, not by offset), until none are left."""
    acme = service.acme
    ids = [
        invite(service, acme, f"l{n}@example.com", contract="Ten seats").json()["id"]
        for n in range(5)
    ]
    pending = {"program_id": acme.programs["Leadership"], "status": "pending", "limit": 2}
    results, after = [], None
    while True:
        result = post_json(service, "/api/v1/invitations/revoke", {**pending, "after_id": after})
        results.append(result)
        if result.get("last_id") is None:
            break
        after = result["last_id"]
    assert results == [
        {"matched": 2, "changed": 2, "left": {}, "last_id": ids[1]},
        {"matched": 2, "changed": 2, "left": {}, "last_id": ids[3]},
        {"matched": 1, "changed": 1, "left": {}, "last_id": ids[4]},
        {"matched": 0, "changed": 0, "left": {}},
    ]
    assert stored_statuses(service) == ["revoked"] * 5
    contracts = get(service, acme, f"/api/v1/programs/{acme.programs['Leadership']}/contracts")
    assert next(c for c in contracts["items"] if c["name"] == "Ten seats")["seats_used"] == 0


def post_json(service: Service, path: str, body: dict[str, Any]) -> Any:
    response = service.http.post(path, headers=service.as_(service.acme), json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_remind_emails_the_quiet_pending_ones_again_and_keeps_their_expiry(
    service: Service,
) -> None:
    acme = service.acme
    ids = [invite(service, acme, f"l{n}@example.com").json()["id"] for n in range(4)]
    ten_days_ago = utcnow() - timedelta(days=10)
    with service.sessions.begin() as session:  # l0, l1 and l2 were emailed ten days ago
        session.execute(
            update(Invitation)
            .where(Invitation.id.in_(ids[:3]))
            .values(created_at=ten_days_ago, email_sent_at=ten_days_ago, email_status="sent")
        )
    service.http.delete(f"/api/v1/invitations/{ids[2]}", headers=service.as_(acme))
    with service.sessions() as session:
        expiry = session.get_one(Invitation, ids[0]).expires_at

    quiet = get(
        service,
        acme,
        "/api/v1/invitations",
        pending_for_days=7,
        program_id=acme.programs["Leadership"],
    )
    assert sorted(item["id"] for item in quiet["items"]) == ids[:2]  # l2 is revoked
    reminded = service.http.post(
        "/api/v1/invitations/remind",
        headers=service.as_(acme),
        json={"program_id": acme.programs["Leadership"], "pending_for_days": 7},
    )

    assert reminded.json() == {"matched": 2, "changed": 2, "left": {}}
    with service.sessions() as session:
        first = session.get_one(Invitation, ids[0])
        assert (first.email_status, first.expires_at) == ("queued", expiry)  # expiry kept
        assert session.get_one(Invitation, ids[3]).email_status != "sent"  # not reminded
    assert count(service, OutboxMessage, OutboxMessage.invitation_id == ids[0]) == 2


def test_a_browser_accepting_the_invitation_gets_a_page_not_json(service: Service) -> None:
    created = invite(service, service.acme, "ann@example.com").json()
    with service.sessions() as session:
        token = link_token(SECRET, session.get_one(Invitation, created["id"]).token_key)
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    accepted = service.http.post(f"/invitations/{token}/accept", headers=browser)
    assert accepted.status_code == 200
    assert accepted.headers["content-type"].startswith("text/html")
    assert "Welcome to Leadership" in accepted.text
    page = service.http.get(f"/invitations/{token}", headers=browser)
    assert "This invitation is accepted" in page.text

    revoked = invite(service, service.acme, "bo@example.com").json()
    service.http.delete(f"/api/v1/invitations/{revoked['id']}", headers=service.as_(service.acme))
    with service.sessions() as session:
        token = link_token(SECRET, session.get_one(Invitation, revoked["id"]).token_key)
    gone = service.http.post(f"/invitations/{token}/accept", headers=browser)
    assert gone.status_code == 410
    assert "Ask Acme for a new invitation" in gone.text

    # A link that matches nothing: a page saying so and what to do, not the API's JSON.
    for unknown in (
        service.http.get("/invitations/no-such-link", headers=browser),
        service.http.post("/invitations/no-such-link/accept", headers=browser),
    ):
        assert unknown.status_code == 404
        assert unknown.headers["content-type"].startswith("text/html")
        assert "This invitation link is not valid" in unknown.text
        assert "whole link from the email" in unknown.text
    # A program (no text/html) still gets the problem as JSON.
    assert service.http.get("/invitations/no-such-link").json()["code"] == "not_found"


def test_links_emailed_before_the_upgrade_still_open_and_the_database_keeps_no_link(
    database_url: str,
) -> None:
    from alembic import command
    from alembic.config import Config
    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine, text

    from tui.service.app import create_app
    from tui.service.db import open_database
    from tui.service.schema import MIGRATIONS

    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
        for statement in (
            "INSERT INTO organizations (id, name, is_demo, created_at) "
            "VALUES (1, 'Acme', false, '2026-01-01')",
            "INSERT INTO programs (id, organization_id, name, description, created_at) "
            "VALUES (1, 1, 'Leadership', '', '2026-01-01')",
            "INSERT INTO contracts (id, organization_id, name, created_at) "
            "VALUES (1, 1, 'Unlimited', '2026-01-01')",
            "INSERT INTO learners (id, organization_id, email, email_key, full_name, created_at, "
            "search_key) VALUES (1, 1, 'ann@example.com', 'ann@example.com', 'Ann', "
            "'2026-01-01', '')",
            "INSERT INTO invitations (organization_id, program_id, contract_id, learner_id, "
            "status, email_status, token, created_at, expires_at, email_attempts) VALUES "
            "(1, 1, 1, 1, 'pending', 'sent', 'emailed-before-the-upgrade', '2026-01-01', "
            "'2999-01-01', 1)",
        ):
            connection.execute(text(statement))
    engine.dispose()
    sessions = open_database(database_url)  # migrates to the newest schema
    with sessions() as session:
        stored = session.execute(text("SELECT token_key FROM invitations")).scalar_one()
    assert stored != "emailed-before-the-upgrade" and len(stored) == 64
    with TestClient(create_app(sessions, secret=SECRET)) as http:
        page = http.get("/invitations/emailed-before-the-upgrade")
        assert page.status_code == 200 and "Acme invites you to Leadership" in page.text
        assert http.get(f"/invitations/{stored}").status_code == 404  # the hash opens nothing
        accepted = http.post("/invitations/emailed-before-the-upgrade/accept")
        assert accepted.json()["status"] == "accepted"
    sessions.kw["bind"].dispose()


def test_the_invitation_list_takes_ids_within_the_organization(service: Service) -> None:
    """A client follows the emails of the invitations it acted on by their ids."""
    acme, globex = service.acme, service.globex
    ids = [invite(service, acme, f"l{n}@example.com").json()["id"] for n in range(3)]
    other = invite(service, globex, "g@example.com").json()["id"]
    listed = get(service, acme, "/api/v1/invitations", ids=[ids[0], ids[2], other])
    assert sorted(item["id"] for item in listed["items"]) == [ids[0], ids[2]]
    assert listed["total"] == 2
