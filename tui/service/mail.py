"""Invitation emails: rendering, transports (SMTP, Maildir) and the outbox sender.

The sender claims due outbox rows under a lease, delivers them with bounded concurrency, and
records sent or failed per invitation; a failure is retried with exponential backoff. A process
that dies mid-send leaves its claimed rows to be retried when the lease runs out, and Maildir
files are named after their outbox row, so a retry never leaves a second copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import os
import quopri
import random
import socket
from dataclasses import dataclass
from datetime import timedelta
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tui.service.db import Invitation, Learner, Organization, OutboxMessage, Program, utcnow

log = logging.getLogger("roster.mail")
LEASE = timedelta(minutes=5)
MAX_BACKOFF = 300.0


@dataclass(frozen=True)
class Outgoing:
    outbox_id: int
    invitation_id: int
    attempts: int
    email: str
    full_name: str
    program: str
    organization: str
    token: str


@dataclass(frozen=True)
class Rendered:
    """A message ready for the wire: envelope addresses and the RFC 5322 bytes (CRLF)."""

    sender: str
    recipient: str
    data: bytes


def render_invitation(item: Outgoing, public_url: str, sender: str) -> Rendered:
    """The invitation email: plain text and HTML alternatives, quoted-printable UTF-8.

    Written out directly rather than through email.message, which costs a millisecond a message.
    """
    link = f"{public_url.rstrip('/')}/invitations/{item.token}"
    text = (
        f"Hello {item.full_name},\n\n"
        f"{item.organization} invites you to the learning program {item.program}.\n\n"
        f"Accept the invitation here:\n{link}\n\n"
        "The invitation is valid for 30 days. If you did not expect it, you can ignore this "
        "email.\n"
    )
    name, program, organization, href = (
        html.escape(value) for value in (item.full_name, item.program, item.organization, link)
    )
    page = (
        f"<p>Hello {name},</p>\n"
        f"<p>{organization} invites you to the learning program <strong>{program}</strong>.</p>\n"
        f'<p><a href="{href}">Accept the invitation</a></p>\n'
        "<p>The invitation is valid for 30 days. If you did not expect it, you can ignore this "
        "email.</p>\n"
    )
    boundary = f"=_roster_{item.outbox_id}_{item.invitation_id}"
    headers = [
        f"From: {sender}",
        f"To: {formataddr((item.full_name, item.email), 'utf-8')}",
        f"Subject: {_header(f'You are invited to {item.program}')}",
        f"Date: {formatdate(usegmt=True)}",
        # The same for every attempt, so a receiver can recognise a retry.
        f"Message-ID: <roster-{item.outbox_id}.invitation-{item.invitation_id}@roster.invalid>",
        f"X-Roster-Invitation: {item.invitation_id}",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
    ]
    parts = [
        "\r\n".join(headers),
        "",
        f"--{boundary}",
        _part("text/plain", text),
        f"--{boundary}",
        _part("text/html", page),
        f"--{boundary}--",
        "",
    ]
    return Rendered(
        sender=parseaddr(sender)[1], recipient=item.email, data="\r\n".join(parts).encode()
    )


def _header(value: str) -> str:
    return value if value.isascii() else Header(value, "utf-8").encode()


def _part(content_type: str, body: str) -> str:
    encoded = quopri.encodestring(body.encode()).decode("ascii").replace("\n", "\r\n")
    return (
        f"Content-Type: {content_type}; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n" + encoded
    )


class Transport(Protocol):
    async def send(self, outbox_id: int, message: Rendered) -> None: ...

    async def close(self) -> None: ...


class MaildirTransport:
    """Delivers into a Maildir: write to tmp/, then rename into new/ (atomic)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        for folder in ("tmp", "new", "cur"):
            (path / folder).mkdir(parents=True, exist_ok=True)

    async def send(self, outbox_id: int, message: Rendered) -> None:
        name = f"roster-{outbox_id}.{socket.gethostname()}"
        temporary = self.path / "tmp" / name
        temporary.write_bytes(message.data)
        os.replace(temporary, self.path / "new" / name)

    async def close(self) -> None:
        return None


class SmtpTransport:
    """Delivers over SMTP (STARTTLS when offered) or SMTPS, on a pool of open connections."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        implicit_tls: bool,
        username: str | None,
        password: str | None,
        validate_certs: bool,
        connections: int,
    ) -> None:
        self.options = {
            "hostname": host, "port": port, "use_tls": implicit_tls,
            "username": username, "password": password, "validate_certs": validate_certs,
            "timeout": 30,
        }  # fmt: skip
        self.idle: asyncio.Queue[object] = asyncio.Queue()
        self.slots = asyncio.Semaphore(connections)

    async def send(self, outbox_id: int, message: Rendered) -> None:
        async with self.slots:
            client = await self._connection()
            try:
                await client.sendmail(  # type: ignore[attr-defined]
                    message.sender, [message.recipient], message.data
                )
            except Exception:
                with contextlib.suppress(Exception):
                    client.close()  # type: ignore[attr-defined]
                raise
            self.idle.put_nowait(client)

    async def _connection(self) -> object:
        import aiosmtplib

        while not self.idle.empty():
            client = self.idle.get_nowait()
            if client.is_connected:  # type: ignore[attr-defined]
                return client
        client = aiosmtplib.SMTP(**self.options)  # type: ignore[arg-type]
        await client.connect()
        return client

    async def close(self) -> None:
        while not self.idle.empty():
            client = self.idle.get_nowait()
            with contextlib.suppress(Exception):
                await client.quit()  # type: ignore[attr-defined]


def open_transport(url: str, connections: int = 8) -> Transport:
    """A transport for `smtp://user:pass@host:port`, `smtps://...` or `maildir:///path`."""
    parts = urlsplit(url)
    if parts.scheme == "maildir":
        return MaildirTransport(Path(unquote(parts.netloc + parts.path)))
    if parts.scheme in ("smtp", "smtps"):
        query = parse_qs(parts.query)
        implicit = parts.scheme == "smtps"
        return SmtpTransport(
            parts.hostname or "localhost",
            parts.port or (465 if implicit else 25),
            implicit_tls=implicit,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            validate_certs=query.get("verify", ["true"])[0].lower() not in ("0", "false", "no"),
            connections=connections,
        )
    raise ValueError(f"Unsupported mail URL {url!r}: use smtp://, smtps:// or maildir://")


class OutboxSender:
    """Drains the outbox: claim due messages, deliver them concurrently, record each outcome."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        transport: Transport,
        *,
        public_url: str,
        sender: str,
        concurrency: int = 16,
        batch: int = 500,
        max_attempts: int = 8,
        base_delay: float = 1.0,
    ) -> None:
        self.sessions = sessions
        self.transport = transport
        self.public_url = public_url
        self.sender = sender
        self.concurrency = concurrency
        self.batch = batch
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.wake = asyncio.Event()

    async def run(self) -> None:
        while True:
            try:
                delivered = await self.drain_once()
            except Exception:
                log.exception("outbox: drain failed; retrying")
                delivered = 0
            if delivered == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), timeout=1.0)
                self.wake.clear()

    async def drain_once(self) -> int:
        """Deliver one batch of due messages; returns how many were attempted."""
        items = await asyncio.to_thread(self._claim)
        if not items:
            return 0
        limit = asyncio.Semaphore(self.concurrency)

        async def deliver(item: Outgoing) -> str | None:
            async with limit:
                try:
                    message = render_invitation(item, self.public_url, self.sender)
                    await self.transport.send(item.outbox_id, message)
                except Exception as error:  # any failure is recorded and retried
                    return f"{type(error).__name__}: {error}"[:500]
                return None

        outcomes = await asyncio.gather(*(deliver(item) for item in items))
        await asyncio.to_thread(self._record, list(zip(items, outcomes, strict=True)))
        return len(items)

    def _claim(self) -> list[Outgoing]:
        now = utcnow()
        with self.sessions.begin() as session:
            query = (
                select(
                    OutboxMessage.id, OutboxMessage.invitation_id, OutboxMessage.attempts,
                    Learner.email, Learner.full_name, Program.name, Organization.name,
                    Invitation.token,
                )
                .join(Invitation, Invitation.id == OutboxMessage.invitation_id)
                .join(Learner, Learner.id == Invitation.learner_id)
                .join(Program, Program.id == Invitation.program_id)
                .join(Organization, Organization.id == Invitation.organization_id)
                .where(OutboxMessage.status == "queued", OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.id)
                .limit(self.batch)
            )  # fmt: skip
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(of=OutboxMessage, skip_locked=True)
            items = [Outgoing(*row) for row in session.execute(query)]
            if items:
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_([item.outbox_id for item in items]))
                    .values(next_attempt_at=now + LEASE)
                )
        return items

    def _record(self, outcomes: list[tuple[Outgoing, str | None]]) -> None:
        now = utcnow()
        sent = [item for item, error in outcomes if error is None]
        with self.sessions.begin() as session:
            if sent:
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_([item.outbox_id for item in sent]))
                    .values(status="sent", sent_at=now, last_error=None)
                )
                session.execute(
                    update(Invitation)
                    .where(Invitation.id.in_([item.invitation_id for item in sent]))
                    .values(email_status="sent")
                )
            for item, error in outcomes:
                if error is None:
                    continue
                attempts = item.attempts + 1
                if attempts >= self.max_attempts:
                    session.execute(
                        update(OutboxMessage)
                        .where(OutboxMessage.id == item.outbox_id)
                        .values(status="failed", attempts=attempts, last_error=error)
                    )
                    session.execute(
                        update(Invitation)
                        .where(Invitation.id == item.invitation_id)
                        .values(email_status="failed")
                    )
                    log.warning("outbox: gave up on message %s: %s", item.outbox_id, error)
                else:
                    delay = min(self.base_delay * 2 ** (attempts - 1), MAX_BACKOFF)
                    delay *= random.uniform(0.8, 1.2)  # spread retries out
                    session.execute(
                        update(OutboxMessage)
                        .where(OutboxMessage.id == item.outbox_id)
                        .values(
                            attempts=attempts,
                            last_error=error,
                            next_attempt_at=now + timedelta(seconds=delay),
                        )
                    )
