"""Invitation emails reach a real SMTP server exactly once, even when it goes down for a while."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from tests.conftest import SmtpServer
from tests.service.conftest import Service
from tests.service.test_imports import batch, upload_and_commit
from tui.service.db import Invitation, OutboxMessage, utcnow
from tui.service.mail import OutboxSender, open_transport


def drain(service: Service, url: str, *, until_done: bool = False, **options: float) -> None:
    """Run one sender in one event loop, as the service does: a round, or until none is queued
    (bounded: a retry waits out its backoff)."""

    async def go() -> None:
        sender = OutboxSender(
            service.sessions,
            open_transport(url),
            public_url="https://roster.example.org",
            sender="Acme Learning <learning@acme.example>",
            **options,  # type: ignore[arg-type]
        )
        for _ in range(200 if until_done else 1):
            if not await sender.drain_once():
                if not queued(service):
                    break
                await asyncio.sleep(0.02)
        await sender.transport.close()

    asyncio.run(go())


def queued(service: Service) -> int:
    with service.sessions() as session:
        return len(
            session.scalars(select(OutboxMessage.id).where(OutboxMessage.status == "queued")).all()
        )


def due_now(service: Service) -> None:
    """Let the backoff pass: what waiting out the retry delay would do."""
    with service.sessions.begin() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "queued")
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


def email_statuses(service: Service) -> Counter[str]:
    with service.sessions() as session:
        return Counter(session.scalars(select(Invitation.email_status)))


def test_each_invitation_email_reaches_the_smtp_server(
    service: Service, smtp_server: SmtpServer
) -> None:
    upload_and_commit(service, service.acme, "k", batch(40))
    drain(service, smtp_server.url)
    messages = smtp_server.inbox.messages
    assert len(messages) == 40
    assert sorted(m["To"] for m in messages)[0] == "Learner 0 <learner0@example.com>"
    first = messages[0]
    assert first["Subject"] == "You are invited to Leadership"
    text = first.get_payload()[0].get_payload(decode=True).decode()
    assert "Acme invites you to the learning program Leadership." in text
    assert "https://roster.example.org/invitations/" in text
    assert first.get_payload()[1].get_content_type() == "text/html"
    assert email_statuses(service) == {"sent": 40}


def test_smtp_down_then_back_sends_every_email_exactly_once(
    service: Service, smtp_server: SmtpServer
) -> None:
    upload_and_commit(service, service.acme, "k", batch(25))
    smtp_server.stop()
    drain(service, smtp_server.url, base_delay=0.01)
    with service.sessions() as session:
        failed_once = session.scalars(select(OutboxMessage)).all()
    assert {(m.status, m.attempts) for m in failed_once} == {("queued", 1)}
    assert all("Connect" in (m.last_error or "") or "refused" in (m.last_error or "")
               for m in failed_once)  # fmt: skip
    assert email_statuses(service) == {"queued": 25}

    smtp_server.start()
    due_now(service)
    drain(service, smtp_server.url, base_delay=0.01, until_done=True)
    ids = Counter(message["X-Roster-Invitation"] for message in smtp_server.inbox.messages)
    assert len(ids) == 25
    assert max(ids.values()) == 1
    assert email_statuses(service) == {"sent": 25}


def test_gives_up_after_the_last_attempt_and_says_failed(
    service: Service, smtp_server: SmtpServer
) -> None:
    upload_and_commit(service, service.acme, "k", batch(3))
    smtp_server.stop()
    drain(service, smtp_server.url, base_delay=0.01, max_attempts=2)
    due_now(service)
    drain(service, smtp_server.url, base_delay=0.01, max_attempts=2)
    assert email_statuses(service) == {"failed": 3}
    status = service.http.get("/api/v1/imports/1", headers=service.as_(service.acme)).json()
    assert (status["emails_queued"], status["emails_sent"], status["emails_failed"]) == (3, 0, 3)


def test_maildir_delivery_writes_one_file_per_email(service: Service, tmp_path: Path) -> None:
    upload_and_commit(service, service.acme, "k", batch(12))
    outbox = tmp_path / "outbox"
    drain(service, f"maildir://{outbox}")
    files = list((outbox / "new").iterdir())
    assert len(files) == 12
    assert not list((outbox / "tmp").iterdir())
    resend = service.http.post("/api/v1/invitations/1/resend", headers=service.as_(service.acme))
    assert resend.json()["email_status"] == "queued"
    drain(service, f"maildir://{outbox}")
    assert len(list((outbox / "new").iterdir())) == 13


def test_invitation_email_is_valid_mime_with_international_names() -> None:
    from email import message_from_bytes, policy

    from tui.service.mail import Outgoing, render_invitation

    rendered = render_invitation(
        Outgoing(7, 42, 0, "zoe@example.com", "Zoë Müller", "Données & Analyse", "Acme <Ltd>",
                 "tok"),
        "https://roster.example.org",
        "Acme Learning <learning@acme.example>",
    )  # fmt: skip
    message = message_from_bytes(rendered.data, policy=policy.default)
    assert message.defects == []
    assert message["To"] == "Zoë Müller <zoe@example.com>"
    assert message["Subject"] == "You are invited to Données & Analyse"
    assert message["Message-ID"] == "<roster-7.invitation-42@roster.invalid>"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert (
        "Acme <Ltd> invites you to the learning program Données & Analyse." in plain.get_content()
    )
    assert "Acme &lt;Ltd&gt;" in html.get_content()
    assert 'href="https://roster.example.org/invitations/tok"' in html.get_content()
    assert (rendered.sender, rendered.recipient) == ("learning@acme.example", "zoe@example.com")
