"""Delivery end to end, nothing mocked: `roster serve` and `roster worker` processes sending a few
hundred invitation emails to an SMTP server that counts Message-IDs, stopped with SIGTERM or
killed with SIGKILL mid-send and started again, and an outage longer than the retry window set
in the settings."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import free_port
from tests.deployment import start_worker
from tests.mailing import (
    MailServer,
    Recorder,
    learners,
    outbox_states,
    queue_invitations,
    wait_until,
)
from tui.service.db import Invitation, OutboxMessage, open_database
from tui.service.mail import DEFAULT_CONCURRENCY

EMAILS = 300


class Served:
    """`roster serve` on a free port, its output in a log file."""

    def __init__(self, database_url: str, mail_url: str, folder: Path, env: dict[str, str]) -> None:
        port = free_port()
        self.log = (folder / f"serve-{port}.log").open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tui",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--database-url",
                database_url,
                "--mail-url",
                mail_url,
            ],
            env={**os.environ, "ROSTER_DATA_DIR": str(folder / "data"), **env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_until(lambda: self._answers(f"http://127.0.0.1:{port}/api/v1/me"), what="serve")

    def _answers(self, url: str) -> bool:
        assert self.process.poll() is None, "roster serve ended at start"
        try:
            httpx.get(url, timeout=1)
        except httpx.TransportError:
            return False
        return True

    def output(self) -> str:
        return Path(self.log.name).read_text()

    def end(self, sig: signal.Signals) -> int:
        self.process.send_signal(sig)
        code = self.process.wait(timeout=60)
        self.log.close()
        return code


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[str, sessionmaker[Session]]]:
    url = f"sqlite:///{tmp_path / 'roster.db'}"
    sessions = open_database(url)
    queue_invitations(sessions, learners(EMAILS))
    yield url, sessions
    sessions.kw["bind"].dispose()


@pytest.fixture
def slow_server() -> Iterator[MailServer]:
    # Slow enough answers that a stop lands while emails are on the wire.
    server = MailServer(Recorder(delay=0.05)).start()
    yield server
    server.stop()


def sent(sessions: sessionmaker[Session]) -> int:
    return outbox_states(sessions)["sent"]


def claimed(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return len(
            session.scalars(
                select(OutboxMessage.id).where(OutboxMessage.claimed_by.is_not(None))
            ).all()
        )


def test_sigterm_mid_send_sends_nothing_twice_and_a_restart_sends_the_rest(
    database: tuple[str, sessionmaker[Session]], slow_server: MailServer, tmp_path: Path
) -> None:
    url, sessions = database
    received = slow_server.handler
    served = Served(url, slow_server.url, tmp_path, {})
    wait_until(lambda: len(received.received) >= 50, what="the first emails")
    # A graceful shutdown; uvicorn then ends by the signal it caught, as a process should.
    assert served.end(signal.SIGTERM) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in served.output()

    ids = received.message_ids()
    print(f"SIGTERM after {len(ids)} of {EMAILS} emails: {sum(ids.values()) - len(ids)} twice")
    assert max(ids.values()) == 1
    assert len(ids) < EMAILS  # the stop landed mid-send
    assert sent(sessions) == len(ids)  # every email that went out is recorded sent
    assert claimed(sessions) == 0  # and what was left is free for the next sender at once

    again = Served(url, slow_server.url, tmp_path, {})
    wait_until(lambda: sent(sessions) == EMAILS, what="every email")
    again.end(signal.SIGTERM)
    assert Counter(received.message_ids().values()) == {1: EMAILS}
    with sessions() as session:
        assert set(session.scalars(select(Invitation.email_status))) == {"sent"}


def test_sigkill_mid_send_repeats_at_most_the_concurrency_and_a_restart_sends_the_rest(
    database: tuple[str, sessionmaker[Session]], slow_server: MailServer, tmp_path: Path
) -> None:
    url, sessions = database
    received = slow_server.handler
    served = Served(url, slow_server.url, tmp_path, {})
    wait_until(lambda: len(received.received) >= 50, what="the first emails")
    served.end(signal.SIGKILL)
    delivered_before = len(received.message_ids())
    assert delivered_before < EMAILS
    # Outcomes lag deliveries by at most what the slots had in flight.
    assert delivered_before - sent(sessions) <= DEFAULT_CONCURRENCY

    # The dead process's claims are taken back at start, not after their lease.
    again = Served(url, slow_server.url, tmp_path, {})
    wait_until(lambda: sent(sessions) == EMAILS, what="every email")
    again.end(signal.SIGTERM)
    ids = received.message_ids()
    twice = sum(count - 1 for count in ids.values())
    print(f"SIGKILL after {delivered_before} of {EMAILS} emails: {twice} sent twice")
    assert len(ids) == EMAILS
    assert twice <= DEFAULT_CONCURRENCY
    assert claimed(sessions) == 0


def test_a_worker_stopped_mid_send_finishes_its_emails_exits_0_and_another_sends_the_rest(
    database: tuple[str, sessionmaker[Session]], slow_server: MailServer, tmp_path: Path
) -> None:
    url, sessions = database
    received = slow_server.handler
    _, worker = start_worker(url, slow_server.url, tmp_path, "first")
    wait_until(lambda: len(received.received) >= 50, what="the first emails")
    assert worker.end(signal.SIGTERM) == 0
    assert "Roster mail worker stopped." in worker.output()
    ids = received.message_ids()
    assert max(ids.values()) == 1
    assert len(ids) < EMAILS  # the stop landed mid-send
    assert sent(sessions) == len(ids)  # every email that went out is recorded sent
    assert claimed(sessions) == 0  # and the rest is free for the next worker at once

    _, again = start_worker(url, slow_server.url, tmp_path, "second")
    wait_until(lambda: sent(sessions) == EMAILS, what="every email")
    assert again.end(signal.SIGINT) == 0
    assert Counter(received.message_ids().values()) == {1: EMAILS}


def test_an_outage_longer_than_the_retry_window_setting_fails_the_emails(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'roster.db'}"
    sessions = open_database(url)
    queue_invitations(sessions, learners(5))
    down = MailServer()  # never started: connections refused
    served = Served(url, down.url, tmp_path, {"ROSTER_MAIL_RETRY_WINDOW": "2"})
    wait_until(lambda: outbox_states(sessions) == {"failed": 5}, what="the window to run out")
    served.end(signal.SIGTERM)
    with sessions() as session:
        for invitation in session.scalars(select(Invitation)):
            assert invitation.email_status == "failed"
            assert "Error connecting to 127.0.0.1" in (invitation.email_error or "")
        for row in session.scalars(select(OutboxMessage)):
            assert (row.next_attempt_at - row.queued_at).total_seconds() >= 2
    sessions.kw["bind"].dispose()
