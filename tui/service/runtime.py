"""Building the service, and running it embedded: same code, real HTTP on 127.0.0.1.

Without --api-url, the CLI and the app start the service in a background thread on a free
loopback port and talk to it through the same httpx client as to a remote `roster serve`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tui.config_file import SettingsProblem
from tui.service.admin import DEMO_ADMIN, create_admin, seed_demo
from tui.service.app import create_app
from tui.service.db import (
    Admin,
    Organization,
    hash_token,
    open_database,
    utcnow,
    write_session,
)
from tui.service.mail import OutboxSender, open_transport
from tui.service.private_files import make_data_dir, open_to_others, private_database, private_file
from tui.service.schema import migrates_on_open
from tui.settings import MIN_SECRET_KEY, Settings

TOKEN_FILE = "token"
SECRET_KEY_FILE = "secret_key"
LOG_FILE = "roster.log"


class MaskInvitationTokens(logging.Filter):
    """An invitation's token is its learner's key: the access log shows /invitations/*** instead."""

    PATH = re.compile(r"^/invitations/[^/?]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            path = str(record.args[2])
            if path.startswith("/invitations/"):
                masked = self.PATH.sub("/invitations/***", path)
                record.args = (*record.args[:2], masked, *record.args[3:])
        return True


# Loggers whose records the embedded service keeps in its log: its own, and those of the
# libraries it runs on (uvicorn's errors, SQLAlchemy's pool), whose tracebacks would otherwise
# reach the terminal through Python's last-resort handler.
SERVICE_LOGGERS = ("roster", "uvicorn", "sqlalchemy")


class LogFile(logging.FileHandler):
    """The embedded service's log file. A record it cannot write (the disk is full) is dropped
    quietly: logging's own complaint, a traceback per record, would land on the terminal."""

    def handleError(self, record: logging.LogRecord) -> None:
        return


def log_service_to(handler: logging.Handler) -> None:
    """Send the service's log (roster.*, and its libraries' warnings) to `handler` only: the
    embedded service writes it to a file, so its warnings never land on the app's screen or a
    command's output."""
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in SERVICE_LOGGERS:
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
            if old is not handler:
                old.close()
        logger.addHandler(handler)
        logger.setLevel(logging.INFO if name == "roster" else logging.WARNING)
        logger.propagate = False


def secret_key(settings: Settings) -> bytes:
    """The service's secret key, which makes the learners' links (tui.service.links).

    The `secret_key` setting, else, on SQLite, the data directory's `secret_key` file, made
    (0600) on first use. A PostgreSQL database is shared by replicas and workers that must all
    hold the same key, so there it must be set: a key made up by one process would break the
    links another one emails.
    """
    if settings.secret_key:
        return settings.secret_key.encode()
    if not settings.resolved_database_url().startswith("sqlite"):
        raise SettingsProblem(
            "A PostgreSQL database needs the setting secret_key, the same on every `roster "
            "serve` and mail sender of the deployment: set ROSTER_SECRET_KEY to at least 32 "
            'random characters (python3 -c "import secrets; print(secrets.token_urlsafe(32))").',
            setting="secret_key",
        )
    path = settings.data_dir / SECRET_KEY_FILE
    if not path.exists():
        make_data_dir(settings.data_dir)
        with contextlib.suppress(FileExistsError):  # another process made it first
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_urlsafe(32) + "\n")
    key = path.read_text().strip()
    if len(key) < MIN_SECRET_KEY:
        raise SettingsProblem(
            f"The secret key file {path} holds no key of {MIN_SECRET_KEY} characters or more. "
            "Restore it from a backup: the links already emailed need it. Without one, delete "
            "the file and send the pending invitations again (their old links will stop "
            "working).",
            setting="secret_key",
            source=str(path),
        )
    return key.encode()


def build_service(
    settings: Settings, *, with_sender: bool = True
) -> tuple[FastAPI, sessionmaker[Session]]:
    """The app over the configured database, delivering its outbox unless `with_sender` is
    False (API replicas whose mail goes out through `roster worker`). A SQLite database is
    migrated here; a PostgreSQL one must already be at this version's schema (SchemaMismatch)."""
    url = settings.resolved_database_url()
    private_database(url)
    sessions = open_database(url, migrate=migrates_on_open(url))
    abandon_idle(sessions)
    secret = secret_key(settings)
    sender = open_sender(settings, sessions, secret) if with_sender else None
    app = create_app(sessions, sender, secret=secret)
    app.state.sync_max_removal_share = settings.sync_max_removal_share
    return app, sessions


def abandon_idle(sessions: sessionmaker[Session]) -> None:
    """Abandon the imports whose client died mid-upload (abandon.ABANDON_AFTER), dropping
    their rows. Read first: a start writes only when there is something to abandon, and one
    that cannot (the database busy, the disk full) starts anyway; a later start or import
    does it."""
    from tui.service.abandon import abandon_idle_imports

    try:
        with sessions() as session, session.begin():
            abandoned = abandon_idle_imports(session, utcnow())
    except Exception as error:  # a start never fails for this
        logging.getLogger("roster.service").warning(
            "could not abandon idle imports: %s", str(error).splitlines()[0][:200]
        )
        return
    if abandoned:
        logging.getLogger("roster.service").info(
            "abandoned %d imports idle for over an hour, and dropped their rows", abandoned
        )


def open_sender(
    settings: Settings, sessions: sessionmaker[Session], secret: bytes, **options: Any
) -> OutboxSender:
    """The outbox sender of the configured mail transport; `secret` makes the learners' links
    (secret_key); `options` tune it (OutboxSender)."""
    return OutboxSender(
        sessions,
        open_transport(settings.resolved_mail_url()),
        public_url=settings.public_url,
        sender=settings.mail_from,
        secret=secret,
        retry_window=settings.mail_retry_window,
        **options,
    )


def ensure_demo(sessions: sessionmaker[Session], data_dir: Path) -> str:
    """The demo admin's token: seeds the demo organization on first use, 0600 token file.

    Reads first and writes only when something is missing, so a command starts even while
    another process holds the database's write lock.
    """
    token_path = data_dir / TOKEN_FILE
    token = token_path.read_text().strip() if token_path.exists() else ""
    with sessions() as session:
        if _demo_token_valid(session, token):
            return token
    with write_session(sessions) as session, session.begin():
        demo = session.scalars(select(Organization).where(Organization.is_demo)).first()
        if demo is None:
            token = seed_demo(session)
        elif not _demo_token_valid(session, token):
            _, token = create_admin(session, demo, DEMO_ADMIN)
    _write_private(token_path, token)
    return token


def keep_embedded_token(data_dir: Path, token: str) -> Path:
    """Keep the demo admin's new token (`roster admins rotate`) where the embedded service
    reads it; the token file's path."""
    token_path = data_dir / TOKEN_FILE
    _write_private(token_path, token)
    return token_path


def _demo_token_valid(session: Session, token: str) -> bool:
    return bool(token) and (
        session.scalars(
            select(Admin.id)
            .join(Organization, Organization.id == Admin.organization_id)
            .where(Organization.is_demo, Admin.token_hash == hash_token(token))
            .where(Admin.removed_at.is_(None))
        ).first()
        is not None
    )


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text + "\n")
    os.chmod(path, 0o600)


@dataclass
class EmbeddedService:
    """The service on 127.0.0.1 in a daemon thread; `url` and `token` once started.

    `one_command`: started for one command (not the app). Its sender delivers the outbox from
    the start, so the emails a re-run of an import is owed may go out before the import itself
    starts: they were owed when the command began, and its import counts them
    (tui.service.invitations.commit_import)."""

    settings: Settings
    one_command: bool = False
    url: str = ""
    token: str = ""

    def start(self) -> EmbeddedService:
        began = utcnow()
        data_dir = self.settings.data_dir
        make_data_dir(data_dir)
        private_file(data_dir / LOG_FILE)
        log_service_to(LogFile(data_dir / LOG_FILE, encoding="utf-8"))
        if warning := open_to_others(data_dir):
            logging.getLogger("roster.service").warning(warning)
        app, sessions = build_service(self.settings)
        if self.one_command:
            app.state.owed_since = began
        self.token = ensure_demo(sessions, data_dir)
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_config=None,  # uvicorn's loggers write to roster.log (log_service_to)
            log_level="warning",
            lifespan="on",
            access_log=False,
            proxy_headers=False,
        )
        self._server = _PromptServer(config)
        self._thread = threading.Thread(target=self._server.run, name="roster-service", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("The embedded Roster service did not start.")
            time.sleep(0.005)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        self._server.stop()
        # Longer than the sender's stop_timeout, so it records what it sent before the exit.
        self._thread.join(timeout=20)


class _PromptServer(uvicorn.Server):
    """uvicorn's server, stopped as soon as it is asked. uvicorn looks for the stop every 0.1 s
    and then gives open connections 0.1 s more: 0.2 s at the end of every command. This one
    wakes when asked, and waits for its connections only while there are some (the embedded
    service's client has closed its own before it asks)."""

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):  # the Date header, once a second
            counter = (counter + 1) % 864_000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)

    def stop(self) -> None:
        """Ask the server to stop; safe from any thread."""
        self.should_exit = True
        loop = getattr(self, "_loop", None)
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop ended meanwhile
                loop.call_soon_threadsafe(self._wake.set)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        deadline = time.monotonic() + 5  # for requests still being answered
        while self.server_state.connections or self.server_state.tasks:
            if time.monotonic() > deadline:
                for task in self.server_state.tasks:
                    task.cancel()
                break
            await asyncio.sleep(0.005)
        await self.lifespan.shutdown()
