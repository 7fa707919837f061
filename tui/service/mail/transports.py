"""Where rendered messages go (an SMTP server or a Maildir), and what a failed delivery means.

A transport either delivers a message or raises a `DeliveryError` that says whether trying again
could help: a 5xx reply to MAIL, RCPT or DATA is permanent; 4xx replies, refused connections,
timeouts and disconnects are transient.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from tui.service.mail.render import Rendered
from tui.service.private_files import PRIVATE_FILE, PRIVATE_FOLDER

if TYPE_CHECKING:
    import aiosmtplib

# A pooled connection unused for longer than this is closed rather than reused: servers drop
# idle clients (RFC 5321 suggests after five minutes), and a dropped one would fail a message.
IDLE_TIMEOUT = 60.0
COMMAND_TIMEOUT = 30.0
SMTP_CONNECTIONS = 16  # open at once to one server
TRANSACTION_TIMEOUT = 120.0  # MAIL, RCPT and DATA of one message
SMTP_OK, SMTP_WILL_FORWARD = 250, 251


class DeliveryError(Exception):
    """A failed delivery: the reason recorded for the invitation, and whether to try again."""

    permanent: ClassVar[bool] = False

    def __init__(self, reason: str) -> None:
        reason = " ".join(reason.split())[:1000]
        super().__init__(reason)
        self.reason = reason


class PermanentFailure(DeliveryError):
    """The server refused this message for good (a 5xx reply): trying again cannot help."""

    permanent = True


class TransientFailure(DeliveryError):
    """This attempt failed, a later one may not (a 4xx reply, a full disk)."""


class ServerUnavailable(TransientFailure):
    """The server takes no message now (unreachable, disconnected, 421): wait before the next."""


class Transport(Protocol):
    async def send(self, outbox_id: int, message: Rendered) -> None:
        """Deliver one message or raise DeliveryError; `outbox_id` names it across attempts."""
        ...

    async def close(self) -> None: ...


class MaildirTransport:
    """Delivers into a Maildir: write to tmp/, then rename into new/ (atomic).

    A file is named after its outbox row, so a retry of a delivered message replaces it rather
    than adding a second copy. The messages hold working accept links: each file is created
    private (0600), and the folders Roster creates are too (0700), whatever the umask.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        for folder in (path, path / "tmp", path / "new", path / "cur"):
            if not folder.is_dir():
                folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
                folder.chmod(PRIVATE_FOLDER)
        # Maildir's escapes for the two characters a file name cannot hold here.
        self.host = socket.gethostname().replace("/", "\\057").replace(":", "\\072")

    async def send(self, outbox_id: int, message: Rendered) -> None:
        name = f"roster-{outbox_id}.{self.host}"
        temporary = self.path / "tmp" / name
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
            with os.fdopen(descriptor, "wb") as file:
                file.write(message.data)
            os.replace(temporary, self.path / "new" / name)
        except OSError as error:
            raise TransientFailure(f"Maildir {self.path}: {error}") from error

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
        self.host, self.port = host, port
        self.implicit_tls = implicit_tls
        self.username, self.password = username, password
        self.validate_certs = validate_certs
        self.slots = asyncio.Semaphore(connections)
        self.idle: list[tuple[aiosmtplib.SMTP, float]] = []  # (client, last used), newest last

    async def send(self, outbox_id: int, message: Rendered) -> None:
        async with self.slots:
            try:
                client = await self._connection()
            except Exception as error:
                raise ServerUnavailable(_describe(error)) from error
            try:
                await self._transaction(client, message)
            except Exception as error:
                failure = classify_smtp_error(error, message.recipient)
                self._release(client, reusable=not isinstance(failure, ServerUnavailable))
                raise failure from error
            except BaseException:
                client.close()  # cancelled mid-command: the session's state is unknown
                raise
            self._release(client, reusable=True)

    @staticmethod
    async def _transaction(client: aiosmtplib.SMTP, message: Rendered) -> None:
        """MAIL, RCPT, DATA. Not aiosmtplib's sendmail or mail/rcpt, which parse both addresses
        again for each message (the addresses are checked already): a fifth of the time here."""
        import aiosmtplib

        options: list[bytes] = []
        encoding = "ascii"
        if client.is_ehlo_or_helo_needed:  # a new connection, or one just upgraded to TLS
            try:
                await client.ehlo()
            except aiosmtplib.SMTPHeloError:
                await client.helo()
        if message.needs_smtputf8:
            if not client.supports_extension("smtputf8"):
                raise aiosmtplib.SMTPNotSupported("SMTPUTF8")
            options, encoding = [b"SMTPUTF8"], "utf-8"
        try:
            # One deadline for the transaction rather than one per command: aiosmtplib times a
            # command with wait_for, a task per command on Python 3.11.
            async with asyncio.timeout(TRANSACTION_TIMEOUT):
                reply = await client.execute_command(
                    b"MAIL",
                    b"FROM:<" + message.sender.encode("ascii") + b">",
                    *options,
                    timeout=None,
                )
                if reply.code != SMTP_OK:
                    raise aiosmtplib.SMTPSenderRefused(reply.code, reply.message, message.sender)
                reply = await client.execute_command(
                    b"RCPT", b"TO:<" + message.recipient.encode(encoding) + b">", timeout=None
                )
                if reply.code not in (SMTP_OK, SMTP_WILL_FORWARD):
                    raise aiosmtplib.SMTPRecipientRefused(
                        reply.code, reply.message, message.recipient
                    )
                await client.data(message.data, timeout=None)
        except aiosmtplib.SMTPResponseException:
            if client.is_connected:  # end the refused transaction; the connection stays usable
                with contextlib.suppress(aiosmtplib.SMTPException, ConnectionError):
                    await client.rset()
            raise

    async def _connection(self) -> aiosmtplib.SMTP:
        import aiosmtplib

        now = time.monotonic()
        while self.idle:
            client, used = self.idle.pop()
            if client.is_connected and now - used < IDLE_TIMEOUT:
                return client
            client.close()
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            use_tls=self.implicit_tls,
            username=self.username,
            password=self.password,
            validate_certs=self.validate_certs,
            timeout=COMMAND_TIMEOUT,
        )
        await client.connect()
        return client

    def _release(self, client: aiosmtplib.SMTP, *, reusable: bool) -> None:
        if reusable and client.is_connected:
            self.idle.append((client, time.monotonic()))
        else:
            client.close()

    async def close(self) -> None:
        idle, self.idle = self.idle, []
        for client, _ in idle:
            with contextlib.suppress(Exception):
                await client.quit()
            client.close()


def classify_smtp_error(error: Exception, recipient: str) -> DeliveryError:
    """What a failed SMTP transaction means for the message, with the server's reply."""
    import aiosmtplib

    if isinstance(error, DeliveryError):
        return error
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused) and error.recipients:
        refused = error.recipients[0]
        return _by_reply(refused.code, refused.message)
    if isinstance(
        error,
        aiosmtplib.SMTPSenderRefused | aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError,
    ):
        return _by_reply(error.code, error.message)
    if isinstance(error, aiosmtplib.SMTPNotSupported):
        # sendmail raises it for one reason only: SMTPUTF8 asked of a server without it.
        return PermanentFailure(
            f"The mail server does not support SMTPUTF8, which the address {recipient} needs."
        )
    if isinstance(error, aiosmtplib.SMTPResponseException):  # e.g. 421, or EHLO refused
        return ServerUnavailable(f"{error.code} {error.message}")
    if isinstance(error, ConnectionError | TimeoutError | OSError | aiosmtplib.SMTPException):
        return ServerUnavailable(_describe(error))
    if isinstance(error, ValueError):  # aiosmtplib: an address it cannot send safely
        return PermanentFailure(_describe(error))
    return TransientFailure(_describe(error))


def _by_reply(code: int, message: str) -> DeliveryError:
    reason = f"{code} {message}"
    if 500 <= code < 600:
        return PermanentFailure(reason)
    if code == 421:  # the server is closing the connection: it takes nothing more now
        return ServerUnavailable(reason)
    return TransientFailure(reason)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def open_transport(url: str, connections: int = SMTP_CONNECTIONS) -> Transport:
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
    from tui.urls import mask_url

    raise ValueError(
        f"Unsupported mail URL {mask_url(url, 'mail')!r}: use smtp://, smtps:// or maildir://"
    )
