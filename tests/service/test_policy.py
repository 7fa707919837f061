"""The invitation policy: the organization's lifetime on every invitation made or renewed, and
the automatic reminder, sent once by whatever sends mail, saying it is a reminder; the manual
remind says so too. Real databases, a real SMTP server, the service's clock held."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.mailing import MailServer, Received, learners, outbox_states, queue_invitations
from tests.mailing import wait_until as wait_for
from tests.service.conftest import Service, batch, get, invite, upload_and_commit
from tests.service.test_mail import RunningSender
from tests.test_operators import refused, run
from tui.service import reminders
from tui.service.db import (
    Admin,
    AuditEntry,
    Invitation,
    Organization,
    OutboxMessage,
    pin_clock,
    write_session,
)

T0 = datetime(2026, 3, 2, 9, 0)
DAY = timedelta(days=1)


@pytest.fixture
def held_clock() -> Iterator[None]:
    pin_clock(T0)
    yield
    pin_clock(None)


@pytest.fixture
def senders() -> Iterator[list[RunningSender]]:
    started: list[RunningSender] = []
    yield started
    for running in started:
        running.stop()


def put_policy(service: Service, lifetime: int, remind: int | None) -> Any:
    return service.http.put(
        "/api/v1/organization/policy",
        headers=service.as_(service.acme),
        json={"invitation_lifetime_days": lifetime, "remind_after_days": remind},
    )


def expiries(service: Service) -> Counter[datetime]:
    with service.sessions() as session:
        return Counter(session.scalars(select(Invitation.expires_at)))


def entries(sessions: sessionmaker[Session], action: str) -> list[AuditEntry]:
    with sessions() as session:
        return list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
            )
        )


def test_the_lifetime_of_the_policy_is_every_new_and_renewed_invitations(
    service: Service, held_clock: None
) -> None:
    assert put_policy(service, 7, 3).status_code == 200
    me = get(service, service.acme, "/api/v1/me")["organization"]
    assert (me["invitation_lifetime_days"], me["remind_after_days"]) == (7, 3)

    assert invite(service, service.acme, "ann@example.com").status_code == 201
    committed = upload_and_commit(service, service.acme, "k1", batch(3))
    assert committed.status_code == 200, committed.text
    assert expiries(service) == {T0 + 7 * DAY: 4}

    pin_clock(T0 + 2 * DAY)
    one = get(service, service.acme, "/api/v1/invitations", q="ann@example.com")["items"][0]
    resent = service.http.post(
        f"/api/v1/invitations/{one['id']}/resend", headers=service.as_(service.acme)
    )
    assert resent.status_code == 200, resent.text
    program = service.acme.programs["Leadership"]
    assert put_policy(service, 10, None).status_code == 200
    bulk = service.http.post(
        "/api/v1/invitations/resend",
        headers=service.as_(service.acme),
        json={"program_id": program, "q": "learner1@"},
    )
    assert bulk.json()["changed"] == 1
    assert expiries(service) == {T0 + 7 * DAY: 2, T0 + 9 * DAY: 1, T0 + 12 * DAY: 1}
    # Globex kept the default.
    assert (
        invite(service, service.globex, "bo@example.com")
        .json()["expires_at"]
        .startswith((T0 + 2 * DAY + 30 * DAY).date().isoformat())
    )


def test_the_policy_api_refuses_a_late_reminder_and_records_each_change(
    service: Service,
) -> None:
    late = put_policy(service, 7, 7)
    assert late.status_code == 422
    assert late.json()["code"] == "invalid_policy"
    assert "before the invitation expires" in late.json()["detail"]
    assert put_policy(service, 400, None).status_code == 422
    assert put_policy(service, 14, 5).json() == {
        "invitation_lifetime_days": 14,
        "remind_after_days": 5,
    }
    assert put_policy(service, 14, 5).status_code == 200  # the same again: nothing to record
    (entry,) = entries(service.sessions, "policy.changed")
    assert entry.actor == "admin@acme.example"
    assert entry.details == {
        "old": {"invitation_lifetime_days": 30, "remind_after_days": None},
        "new": {"invitation_lifetime_days": 14, "remind_after_days": 5},
    }
    with write_session(service.sessions) as session, session.begin():
        session.execute(update(Admin).values(role="manager"))
    assert get(service, service.acme, "/api/v1/organization/policy")["remind_after_days"] == 5
    assert put_policy(service, 20, None).status_code == 403


def set_policy(sessions: sessionmaker[Session], lifetime: int, remind: int | None) -> None:
    with write_session(sessions) as session, session.begin():
        session.execute(
            update(Organization).values(invitation_lifetime_days=lifetime, remind_after_days=remind)
        )


def mail_to(server: MailServer) -> dict[str, list[Received]]:
    by_address: dict[str, list[Received]] = {}
    for message in list(server.handler.received):
        by_address.setdefault(message.recipients[0], []).append(message)
    return by_address


def reminder_text(message: Received) -> tuple[str, str]:
    parsed = message.parsed()
    plain = parsed.get_body(("plain",))
    assert plain is not None
    return str(parsed["Subject"]), str(plain.get_content())


def test_a_pending_invitation_is_reminded_once_after_the_days_by_two_senders(
    database_url: str, held_clock: None, senders: list[RunningSender]
) -> None:
    from tui.service.db import open_database

    sessions = open_database(database_url)
    server = MailServer().start()
    try:
        ids = queue_invitations(sessions, learners(5))
        set_policy(sessions, 10, 3)
        options = {"poll_interval": 0.05, "remind_interval": 0.05}
        senders += [RunningSender(sessions, server.url, **options) for _ in range(2)]
        wait_for(lambda: outbox_states(sessions) == {"sent": 5})
        accepted, revoked, expired = ids[1], ids[2], ids[3]
        with write_session(sessions) as session, session.begin():
            session.execute(
                update(Invitation).where(Invitation.id == accepted).values(status="accepted")
            )
            session.execute(
                update(Invitation).where(Invitation.id == revoked).values(status="revoked")
            )
            session.execute(
                update(Invitation).where(Invitation.id == expired).values(expires_at=T0 + 2 * DAY)
            )

        pin_clock(T0 + 3 * DAY - timedelta(minutes=1))
        assert reminders.queue_due_reminders(sessions, T0 + 3 * DAY - timedelta(minutes=1)) == 0
        pin_clock(T0 + 3 * DAY)
        wait_for(lambda: outbox_states(sessions) == {"sent": 7})
        # Days after the reminder went out, still pending: no second one.
        assert reminders.queue_due_reminders(sessions, T0 + 7 * DAY) == 0
    finally:
        for running in senders:
            running.stop()
        server.stop()

    received = mail_to(server)
    assert {address: len(messages) for address, messages in received.items()} == {
        "learner0@example.org": 2,
        "learner1@example.org": 1,
        "learner2@example.org": 1,
        "learner3@example.org": 1,
        "learner4@example.org": 2,
    }
    subject, text = reminder_text(received["learner4@example.org"][1])
    assert subject == "Reminder: you are invited to Leadership"
    assert text.splitlines()[2] == (
        "This is a reminder: Acme invites you to the learning program Leadership."
    )
    assert "Your invitation expires on 1 April 2026." in text
    assert reminder_text(received["learner4@example.org"][0])[0] == "You are invited to Leadership"
    reminded = entries(sessions, "invitation.reminded")
    assert {entry.actor for entry in reminded} == {"automatic"}
    assert sorted(email for entry in reminded for email in entry.learners or []) == [
        "learner0@example.org",
        "learner4@example.org",
    ]
    assert sum(entry.count for entry in reminded) == 2
    assert all(entry.details == {"automatic": True} for entry in reminded)
    sessions.kw["bind"].dispose()


def test_a_sender_late_to_the_same_reminders_queues_none(
    database_url: str, held_clock: None
) -> None:
    from tui.service.db import open_database

    sessions = open_database(database_url)
    ids = queue_invitations(sessions, learners(2))
    with write_session(sessions) as session, session.begin():
        session.execute(update(Invitation).values(email_status="sent", email_sent_at=T0))
        session.execute(update(OutboxMessage).values(status="sent"))
    set_policy(sessions, 10, 3)
    now = T0 + 3 * DAY
    with sessions() as session:
        organization_id = session.scalars(select(Organization.id)).one()
    due = reminders._due(organization_id, 3, now)
    # Both senders read the same due invitations; the first queues them, the second none.
    assert reminders._queue_reminders(sessions, organization_id, ids, due, now) == 2
    assert reminders._queue_reminders(sessions, organization_id, ids, due, now) == 0
    with sessions() as session:
        kinds = Counter(session.scalars(select(OutboxMessage.kind)))
    assert kinds == {"invitation": 2, "reminder": 2}
    assert len(entries(sessions, "invitation.reminded")) == 1
    sessions.kw["bind"].dispose()


def test_the_manual_remind_sends_the_reminder_and_no_automatic_one_follows(
    service: Service, held_clock: None, senders: list[RunningSender]
) -> None:
    server = MailServer().start()
    try:
        set_policy(service.sessions, 10, 3)
        senders.append(RunningSender(service.sessions, server.url, poll_interval=0.05))
        assert invite(service, service.acme, "ann@example.com").status_code == 201
        wait_for(lambda: len(server.handler.received) == 1)
        pin_clock(T0 + DAY)
        reminded = service.http.post(
            "/api/v1/invitations/remind",
            headers=service.as_(service.acme),
            json={"program_id": service.acme.programs["Leadership"]},
        )
        assert reminded.json()["changed"] == 1
        wait_for(lambda: len(server.handler.received) == 2)
        assert reminders.queue_due_reminders(service.sessions, T0 + 5 * DAY) == 0
    finally:
        for running in senders:
            running.stop()
        server.stop()
    subject, text = reminder_text(server.handler.received[1])
    assert subject == "Reminder: you are invited to Leadership"
    assert "This is a reminder:" in text
    (entry,) = entries(service.sessions, "invitation.reminded")
    assert (entry.actor, entry.count, entry.learners) == (
        "admin@acme.example",
        1,
        ["ann@example.com"],
    )


def test_a_reminder_says_so_and_shows_the_names_as_text() -> None:
    from tui.service.mail import Outgoing, render_invitation

    outgoing = Outgoing(
        7,
        3,
        "ann@example.org",
        "Ann <Lee>",
        "<b>Data</b> & more",
        "Acme",
        "key",
        kind="reminder",
        expires_at=datetime(2027, 1, 6, 23, 0),
    )
    sender = "Acme Learning <learning@acme.example>"
    message = Received(
        "", [], [], render_invitation(outgoing, "https://r.example", sender, secret=b"s" * 32).data
    ).parsed()
    assert message["Subject"] == "Reminder: you are invited to <b>Data</b> & more"
    html = message.get_body(("html",))
    assert html is not None
    assert (
        "<p>This is a reminder: Acme invites you to the learning program "
        "<strong>&lt;b&gt;Data&lt;/b&gt; &amp; more</strong>.</p>"
    ) in html.get_content()
    assert "Your invitation expires on 6 January 2027." in html.get_content()


def test_the_policy_command_answers_in_json_and_refuses_a_reminder_after_the_expiry(
    database_url: str, tmp_path: Path
) -> None:
    from tui.service.db import open_database

    sessions = open_database(database_url)  # migrated, as `roster migrate` leaves it

    def admin(*args: str) -> subprocess.CompletedProcess[str]:
        return run(
            "admin", *args, "--database-url", database_url, "--format", "json", tmp_path=tmp_path
        )

    def policy(*args: str) -> subprocess.CompletedProcess[str]:
        return admin("set-invitation-policy", "--org", "Acme", *args)

    assert admin("create-org", "Acme").returncode == 0
    done = policy("--lifetime-days", "14", "--remind-after-days", "5")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "id": 1,
        "name": "Acme",
        "invitation_lifetime_days": 14,
        "remind_after_days": 5,
        "changed": True,
    }
    late = refused(policy("--lifetime-days", "5"))
    assert late["code"] == "invalid_input"
    assert "must come before the invitation expires" in late["message"]
    assert "--no-remind" in late["message"]
    assert refused(policy("--lifetime-days", "366", "--no-remind"))["code"] == "invalid_input"
    off = json.loads(policy("--lifetime-days", "5", "--no-remind").stdout)
    assert (off["invitation_lifetime_days"], off["remind_after_days"]) == (5, None)
    changes = entries(sessions, "policy.changed")
    sessions.kw["bind"].dispose()
    assert [entry.actor.startswith("operator (") for entry in changes] == [True, True]
    assert changes[1].details == {
        "old": {"invitation_lifetime_days": 14, "remind_after_days": 5},
        "new": {"invitation_lifetime_days": 5, "remind_after_days": None},
    }
