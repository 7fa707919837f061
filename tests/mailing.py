"""Real parts for the delivery tests: an aiosmtpd server that keeps what it receives (slow,
refusing some recipients, or without SMTPUTF8 when asked), invitation emails queued straight in
the database as an import commit leaves them, and waiting for a condition."""

from __future__ import annotations

import asyncio
import email
import email.policy
import secrets
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import free_port
from tui.service import admin as operator
from tui.service.db import (
    Contract,
    Invitation,
    Learner,
    Organization,
    OutboxMessage,
    utcnow,
    write_session,
)


def wait_until(condition: Callable[[], object], timeout: float = 60, what: str = "") -> None:
    """Poll `condition` until it holds; fail after `timeout` seconds (a deadline, not a pace)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what or condition}"
        time.sleep(0.02)


@dataclass
class Received:
    """One message as the server took it."""

    sender: str
    recipients: list[str]
    mail_options: list[str]
    data: bytes

    def parsed(self) -> EmailMessage:
        """The message as its reader sees it: UTF-8 (RFC 6532) where SMTPUTF8 carried it."""
        message = email.message_from_string(self.data.decode(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message

    @property
    def message_id(self) -> str:
        return str(self.parsed()["Message-ID"])


@dataclass
class Recorder:
    """An aiosmtpd handler: accepts (after `delay`) and keeps every message; `refuse` may
    answer RCPT for an address with a reply such as "550 5.1.1 mailbox unavailable"."""

    delay: float = 0.0
    refuse: Callable[[str], str | None] = lambda _address: None
    received: list[Received] = field(default_factory=list)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: SmtpSession,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        reply = self.refuse(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        # Kept before the slow answer: a client that dies now has delivered the message without
        # hearing so, the case that can make a crash send it twice.
        self.received.append(
            Received(
                envelope.mail_from or "",
                list(envelope.rcpt_tos),
                list(envelope.mail_options),
                envelope.original_content or b"",
            )
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 Message accepted for delivery"

    def message_ids(self) -> Counter[str]:
        return Counter(message.message_id for message in list(self.received))


@dataclass
class MailServer:
    """aiosmtpd on 127.0.0.1 in a thread; stop and start it again on the same port."""

    handler: Recorder = field(default_factory=Recorder)
    smtputf8: bool = True
    port: int = field(default_factory=free_port)
    controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> MailServer:
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=self.smtputf8
        )
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None


def queue_invitations(
    sessions: sessionmaker[Session], people: Sequence[tuple[str, str]], organization: str = "Acme"
) -> list[int]:
    """Pending invitations to the Leadership program, their emails queued (as an import commit
    leaves them); the invitations' ids, in the order of `people` (full name, address)."""
    now = utcnow()
    with write_session(sessions) as session, session.begin():
        org = session.scalars(select(Organization).where(Organization.name == organization)).first()
        if org is None:
            org = operator.create_organization(session, organization)
            program = operator.create_program(session, org, "Leadership")
            operator.create_contract(session, org, "Unlimited", [program])
        program = operator.find_program(session, org.id, "Leadership")
        contract_id = session.scalars(
            select(Contract.id).where(Contract.organization_id == org.id)
        ).one()
        learners = [
            Learner(
                organization_id=org.id, email=address, email_key=address.lower(), full_name=name
            )
            for name, address in people
        ]
        session.add_all(learners)
        session.flush()
        invitations = [
            Invitation(
                organization_id=org.id,
                program_id=program.id,
                contract_id=contract_id,
                learner_id=learner.id,
                status="pending",
                email_status="queued",
                token_key=secrets.token_urlsafe(24),
                created_at=now,
                expires_at=now + timedelta(days=30),
                email_next_attempt_at=now,
            )
            for learner in learners
        ]
        session.add_all(invitations)
        session.flush()
        session.add_all(
            OutboxMessage(
                invitation_id=invitation.id,
                status="queued",
                attempts=0,
                queued_at=now,
                next_attempt_at=now,
            )
            for invitation in invitations
        )
        return [invitation.id for invitation in invitations]


def learners(count: int, domain: str = "example.org") -> list[tuple[str, str]]:
    return [(f"Learner {n}", f"learner{n}@{domain}") for n in range(count)]


def outbox_states(sessions: sessionmaker[Session]) -> Counter[str]:
    with sessions() as session:
        return Counter(session.scalars(select(OutboxMessage.status)))


def email_statuses(sessions: sessionmaker[Session]) -> Counter[str]:
    with sessions() as session:
        return Counter(session.scalars(select(Invitation.email_status)))
