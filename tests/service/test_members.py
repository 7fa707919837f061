"""A program's members through the API: listed and searched, removed with their seats freed at
once (under concurrent invites too), invited again, and never revoked as if pending."""

from __future__ import annotations

import threading
from typing import Any

import httpx
from sqlalchemy import func, select, update

from tests.service.conftest import (
    SECRET,
    LiveService,
    Org,
    Service,
    batch,
    get,
    invite,
    upload_and_commit,
)
from tui.service.db import Admin, AdminProgram, AuditEntry, Invitation, utcnow
from tui.service.links import link_token
from tui.service.seats import holds_seat


def accept(sessions: Any, *invitation_ids: int) -> None:
    """The learners accepted these invitations: they are members."""
    with sessions.begin() as session:
        session.execute(
            update(Invitation)
            .where(Invitation.id.in_(invitation_ids))
            .values(status="accepted", accepted_at=utcnow())
        )


def members_of(service: Service, org: Org, **params: Any) -> Any:
    return get(service, org, f"/api/v1/programs/{org.programs['Leadership']}/members", **params)


def remove(service: Service, org: Org, **selection: Any) -> Any:
    """The response to a removal of the members `selection` names from Leadership."""
    return service.http.post(
        f"/api/v1/programs/{org.programs['Leadership']}/members/remove",
        headers=service.as_(org),
        json=selection,
    )


def seats_used(service: Service, org: Org, contract: str) -> int:
    contracts = get(service, org, f"/api/v1/programs/{org.programs['Leadership']}/contracts")
    used: int = next(c for c in contracts["items"] if c["name"] == contract)["seats_used"]
    return used


def test_members_are_the_accepted_learners_listed_searched_and_paged(service: Service) -> None:
    acme = service.acme
    ids = [invite(service, acme, f"l{n}@example.com").json()["id"] for n in range(4)]
    accept(service.sessions, *ids[:3])
    listed = members_of(service, acme, limit=2)
    assert listed["total"] == 3  # the pending one is no member
    assert [m["email"] for m in listed["items"]] == ["l0@example.com", "l1@example.com"]
    assert members_of(service, acme, offset=2)["items"][0]["contract_name"] == "Unlimited"
    found = members_of(service, acme, q="L1@EXAMPLE")
    assert (found["total"], found["items"][0]["invitation_id"]) == (1, ids[1])
    # Another organization's program, and a program outside a manager's, do not exist.
    other = f"/api/v1/programs/{service.globex.programs['Leadership']}/members"
    assert service.http.get(other, headers=service.as_(acme)).status_code == 404
    with service.sessions.begin() as session:
        admin = session.scalars(select(Admin).where(Admin.organization_id == acme.id)).one()
        admin.role = "viewer"
    refused = remove(service, acme, emails=["l0@example.com"])  # a viewer reads only
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden_role")
    assert members_of(service, acme)["total"] == 3
    with service.sessions.begin() as session:
        manager = session.scalars(select(Admin).where(Admin.organization_id == acme.id)).one()
        manager.role = "manager"
        session.add(AdminProgram(admin_id=manager.id, program_id=acme.programs["Data Literacy"]))
    response = service.http.get(
        f"/api/v1/programs/{acme.programs['Leadership']}/members", headers=service.as_(acme)
    )
    assert response.status_code == 404
    assert remove(service, acme, emails=["l0@example.com"]).status_code == 404


def test_removing_frees_the_seat_at_once_and_the_record_keeps_who_and_why(
    service: Service,
) -> None:
    acme = service.acme
    ids = [
        invite(service, acme, f"l{n}@example.com", contract="Ten seats").json()["id"]
        for n in range(10)
    ]
    accept(service.sessions, *ids[:9])  # 9 members and 1 pending: the contract is full
    assert invite(service, acme, "new@example.com", "Ten seats").json()["code"] == (
        "contract_capacity"
    )

    removed = remove(
        service,
        acme,
        emails=[" L0@Example.com", "l9@example.com", "nobody@example.com", "not an email"],
        reason="  Left the company\nin March  ",
    )
    assert removed.status_code == 200, removed.text
    body = removed.json()
    assert (body["matched"], body["removed"]) == (4, 1)
    assert {m["email"]: m["code"] for m in body["not_members"]} == {
        "l9@example.com": "pending",
        "nobody@example.com": "unknown_learner",
        "not an email": "invalid_email",
    }
    assert seats_used(service, acme, "Ten seats") == 9
    assert invite(service, acme, "new@example.com", "Ten seats").status_code == 201

    listed = get(service, acme, "/api/v1/invitations", q="l0@example.com")["items"]
    assert [item["status"] for item in listed] == ["removed"]  # its history stays
    with service.sessions() as session:
        stored = session.get_one(Invitation, ids[0])
        assert stored.removed_at is not None
        assert stored.removed_reason == "Left the company\nin March"
        (entry,) = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "member.removed")
        ).all()
    assert (entry.actor, entry.count, entry.learners) == (
        "admin@acme.example",
        1,
        ["l0@example.com"],
    )
    assert (entry.reason, entry.program_id) == ("Left the company\nin March", stored.program_id)
    again = remove(service, acme, emails=["l0@example.com"]).json()
    assert again["not_members"][0]["code"] == "removed"
    # The link of the removed invitation accepts nothing: membership is not taken back by it.
    token = link_token(SECRET, stored.token_key)
    assert service.http.post(f"/invitations/{token}/accept").json()["code"] == "invitation_removed"
    assert seats_used(service, acme, "Ten seats") == 10
    assert remove(service, acme, emails=["a@example.com"], reason="x\n" * 6).status_code == 422


def test_a_removed_learner_can_be_invited_again_one_at_a_time_or_by_import(
    service: Service,
) -> None:
    acme = service.acme
    first = invite(service, acme, "learner0@example.com").json()["id"]
    second = invite(service, acme, "learner1@example.com").json()["id"]
    accept(service.sessions, first, second)
    assert invite(service, acme, "learner0@example.com").json()["code"] == "already_member"
    assert remove(service, acme, all_matching=True).json()["removed"] == 2

    again = invite(service, acme, "learner0@example.com")
    assert again.status_code == 201, again.text
    committed = upload_and_commit(service, acme, "again", batch(2))
    assert committed.status_code == 200, committed.text
    # learner0 is invited already (just now); learner1, removed, is invited again.
    assert (committed.json()["invited"], committed.json()["skipped"]) == (
        1,
        {"already_invited": 1},
    )
    resent = service.http.post(f"/api/v1/invitations/{first}/resend", headers=service.as_(acme))
    assert resent.json()["code"] == "not_pending"  # the removed invitation stays removed


def test_a_filter_is_removed_in_batches_its_removals_leave(service: Service) -> None:
    acme = service.acme
    ids = [invite(service, acme, f"l{n}@example.com").json()["id"] for n in range(5)]
    accept(service.sessions, *ids)
    after, removed = None, 0
    while True:
        selection = {"all_matching": True, "q": "example", "limit": 2}
        body = remove(service, acme, **selection, **({"after_id": after} if after else {})).json()
        removed += body["removed"]
        if body.get("last_id") is None:
            break
        after = body["last_id"]
    assert removed == 5
    assert members_of(service, acme)["total"] == 0
    with service.sessions() as session:
        counts = session.scalars(
            select(AuditEntry.count).where(AuditEntry.action == "member.removed")
        ).all()
    assert counts == [2, 2, 1]  # an entry per batch, each in its transaction


def test_revoking_an_accepted_invitation_says_it_is_a_member_and_how_to_remove_them(
    service: Service,
) -> None:
    acme = service.acme
    member = invite(service, acme, "ann@example.com").json()["id"]
    pending = invite(service, acme, "bob@example.com").json()["id"]
    accept(service.sessions, member)

    refused = service.http.delete(f"/api/v1/invitations/{member}", headers=service.as_(acme))
    assert refused.status_code == 409
    assert refused.json()["code"] == "is_member"
    assert "roster members remove --program Leadership ann@example.com" in refused.json()["detail"]

    def revoke(**selection: Any) -> Any:
        return service.http.post(
            "/api/v1/invitations/revoke", headers=service.as_(acme), json=selection
        )

    named = revoke(ids=[pending, member])
    assert (named.status_code, named.json()["code"]) == (409, "is_member")
    assert [e["code"] for e in named.json()["errors"]] == ["is_member"]
    assert revoke(program_id=acme.programs["Leadership"], status="accepted").status_code == 409
    by_filter = revoke(program_id=acme.programs["Leadership"])  # the pending ones only
    assert by_filter.json() == {"matched": 2, "changed": 1, "left": {"not_pending": 1}}
    assert members_of(service, acme)["total"] == 1


def test_removals_under_concurrent_invites_never_use_more_seats_than_the_contract_has(
    live_service: LiveService,
) -> None:
    """Real threads on a real server: admins invite into a full 10-seat contract while members
    are removed one by one. Each removal lets exactly one invite in; never an eleventh seat."""
    acme = live_service.acme
    program = acme.programs["Leadership"]
    with httpx.Client(base_url=live_service.url, headers=live_service.headers()) as http:

        def invite_one(email: str) -> httpx.Response:
            body = {"full_name": "L", "email": email, "contract_id": acme.contracts["Ten seats"]}
            while True:
                response = http.post(f"/api/v1/programs/{program}/invitations", json=body)
                if response.status_code != 503:  # a busy database did nothing: again
                    return response

        ids = [invite_one(f"m{n}@example.com").json()["id"] for n in range(10)]
    accept(live_service.sessions, *ids)

    removals_done = threading.Event()
    invited: list[str] = []
    most_seats = 0

    def seats() -> int:
        with live_service.sessions() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(Invitation)
                    .where(Invitation.contract_id == acme.contracts["Ten seats"])
                    .where(holds_seat(utcnow()))
                )
                or 0
            )

    def inviter(worker: int) -> None:
        with httpx.Client(base_url=live_service.url, headers=live_service.headers()) as http:
            attempt, after_removals = 0, 3  # a few tries once every seat was freed
            while after_removals:
                after_removals -= removals_done.is_set()
                attempt += 1
                email = f"new{worker}-{attempt}@example.com"
                body = {
                    "full_name": "N",
                    "email": email,
                    "contract_id": acme.contracts["Ten seats"],
                }
                response = http.post(f"/api/v1/programs/{program}/invitations", json=body)
                assert response.status_code in (201, 409, 503), response.text
                if response.status_code == 201:
                    invited.append(email)

    def remover() -> None:
        with httpx.Client(base_url=live_service.url, headers=live_service.headers()) as http:
            for n in range(4):
                while True:
                    response = http.post(
                        f"/api/v1/programs/{program}/members/remove",
                        json={"emails": [f"m{n}@example.com"]},
                    )
                    if response.status_code != 503:
                        break
                assert response.json()["removed"] == 1, response.text
        removals_done.set()

    threads = [threading.Thread(target=inviter, args=(n,)) for n in range(3)]
    threads.append(threading.Thread(target=remover))
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        most_seats = max(most_seats, seats())
    for thread in threads:
        thread.join()
    assert most_seats <= 10
    assert seats() == 10
    assert len(invited) == 4  # one new learner per seat freed, no more
