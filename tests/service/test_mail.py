"""The outbox sender against a real SMTP server (aiosmtpd) and a real database: each email once,
every outcome recorded as the server answers, 5xx failed at once, transient failures retried for
the retry window, claims handed back on stop and taken back from dead processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.mailing import (
    MailServer,
    Received,
    Recorder,
    email_statuses,
    learners,
    outbox_states,
    queue_invitations,
    wait_until,
)
from tests.service.conftest import SECRET
from tui.service.db import Invitation, OutboxMessage, open_database, utcnow, write_session
from tui.service.mail import OutboxSender, open_transport
from tui.service.mail.sender import this_host

SENDER = "Acme Learning <learning@acme.example>"


class RunningSender:
    """An OutboxSender running in its own thread and event loop, as in the service; `stop()`
    is what the app's shutdown does."""

    def __init__(self, sessions: sessionmaker[Session], mail_url: str, **options: Any) -> None:
        self.sender = OutboxSender(
            sessions,
            open_transport(mail_url),
            public_url="https://roster.example.org",
            sender=SENDER,
            secret=SECRET,
            **options,
        )
        self.loop = asyncio.new_event_loop()
        self.running = self.loop.create_task(self.sender.run())
        self.thread = threading.Thread(target=self.loop.run_forever)
        self.thread.start()

    def stop(self) -> None:
        if not self.thread.is_alive():
            return

        async def stop() -> None:
            await self.sender.stop()
            await self.running

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=60)
        self.loop.close()


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    sessions = open_database(database_url)
    yield sessions
    sessions.kw["bind"].dispose()


@pytest.fixture
def start_sender() -> Iterator[Any]:
    started: list[RunningSender] = []

    def start(sessions: sessionmaker[Session], mail_url: str, **options: Any) -> RunningSender:
        started.append(RunningSender(sessions, mail_url, **options))
        return started[-1]

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    server = MailServer().start()
    yield server
    server.stop()


def invitations(sessions: sessionmaker[Session]) -> list[Invitation]:
    with sessions() as session:
        return list(session.scalars(select(Invitation).order_by(Invitation.id)))


def outbox(sessions: sessionmaker[Session]) -> list[OutboxMessage]:
    with sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def all_done(sessions: sessionmaker[Session]) -> bool:
    return "queued" not in outbox_states(sessions)


def test_each_email_reaches_the_server_once_and_is_recorded_sent(
    sessions: sessionmaker[Session], mail_server: MailServer, start_sender: Any
) -> None:
    queue_invitations(sessions, learners(40))
    running = start_sender(sessions, mail_server.url)
    wait_until(lambda: all_done(sessions))
    running.stop()

    received = mail_server.handler.received
    assert len(received) == 40
    assert max(mail_server.handler.message_ids().values()) == 1
    first = min(received, key=lambda message: message.recipients[0])
    message = first.parsed()
    assert (first.sender, first.recipients) == ("learning@acme.example", ["learner0@example.org"])
    assert message["To"] == "Learner 0 <learner0@example.org>"
    assert message["Subject"] == "You are invited to Leadership"
    plain = message.get_body(("plain",))
    assert plain is not None
    assert "Acme invites you to the learning program Leadership." in plain.get_content()
    for invitation in invitations(sessions):
        assert (invitation.email_status, invitation.email_attempts) == ("sent", 1)
        assert invitation.email_sent_at is not None
        assert (invitation.email_error, invitation.email_next_attempt_at) == (None, None)
    assert {row.claimed_by for row in outbox(sessions)} == {None}


def test_a_550_fails_that_invitation_at_once_with_the_reason(
    sessions: sessionmaker[Session], start_sender: Any
) -> None:
    refusing = Recorder(
        refuse=lambda address: (
            "550 5.1.1 mailbox unavailable" if address.startswith("nobody") else None
        )
    )
    server = MailServer(refusing).start()
    try:
        queue_invitations(sessions, learners(7))
        ids = queue_invitations(
            sessions, [(f"Nobody {n}", f"nobody{n}@example.org") for n in range(3)]
        )
        running = start_sender(sessions, server.url)
        wait_until(lambda: all_done(sessions))
        running.stop()
    finally:
        server.stop()
    by_id = {invitation.id: invitation for invitation in invitations(sessions)}
    for invitation_id in ids:
        failed = by_id.pop(invitation_id)
        assert (failed.email_status, failed.email_attempts) == ("failed", 1)
        assert failed.email_error == "550 5.1.1 mailbox unavailable"
    assert {invitation.email_status for invitation in by_id.values()} == {"sent"}
    assert len(refusing.received) == 7


def test_a_4xx_reply_is_retried_and_the_email_then_sent_once(
    sessions: sessionmaker[Session], start_sender: Any
) -> None:
    refused: set[str] = set()

    def greylist(address: str) -> str | None:
        if address in refused:
            return None
        refused.add(address)
        return "451 4.7.1 greylisted, try again later"

    server = MailServer(Recorder(refuse=greylist)).start()
    try:
        queue_invitations(sessions, learners(5))
        running = start_sender(sessions, server.url, base_delay=0.05, max_delay=0.1)
        wait_until(lambda: all_done(sessions))
        running.stop()
    finally:
        server.stop()
    assert Counter(server.handler.message_ids().values()) == {1: 5}
    for invitation in invitations(sessions):
        assert (invitation.email_status, invitation.email_attempts) == ("sent", 2)
        assert invitation.email_error is None


def test_server_down_longer_than_the_old_give_up_then_back_delivers_each_email_once(
    sessions: sessionmaker[Session], start_sender: Any
) -> None:
    server = MailServer()  # not started: connections are refused
    queue_invitations(sessions, learners(20))
    running = start_sender(
        sessions, server.url, base_delay=0.02, max_delay=0.1, retry_window=timedelta(minutes=10)
    )
    # The old sender gave up after 8 attempts (two minutes): well past that, nothing failed.
    wait_until(lambda: min(row.attempts for row in outbox(sessions)) >= 10)
    assert outbox_states(sessions) == {"queued": 20}
    for invitation in invitations(sessions):
        assert invitation.email_status == "retrying"
        assert invitation.email_error is not None
        assert "refused" in invitation.email_error or "Connect" in invitation.email_error
        assert invitation.email_next_attempt_at is not None

    server.start()  # back, and nobody does anything
    try:
        wait_until(lambda: all_done(sessions))
        running.stop()
    finally:
        server.stop()
    assert Counter(server.handler.message_ids().values()) == {1: 20}
    assert email_statuses(sessions) == {"sent": 20}
    assert all(invitation.email_sent_at for invitation in invitations(sessions))


def test_after_the_retry_window_an_email_fails_with_the_last_error(
    sessions: sessionmaker[Session], start_sender: Any
) -> None:
    window = timedelta(seconds=1)
    queue_invitations(sessions, learners(4))
    running = start_sender(
        sessions, MailServer().url, base_delay=0.05, max_delay=0.2, retry_window=window
    )
    wait_until(lambda: all_done(sessions))
    running.stop()
    assert email_statuses(sessions) == {"failed": 4}
    for row, invitation in zip(outbox(sessions), invitations(sessions), strict=True):
        assert row.attempts >= 2
        assert row.next_attempt_at >= row.queued_at + window  # failed only once it ran out
        assert invitation.email_error == row.last_error
        assert "refused" in (row.last_error or "") or "Connect" in (row.last_error or "")


INTERNATIONAL = [
    ("Zoë Müller", "zoë@bücher.example"),  # a non-ASCII local part: needs SMTPUTF8
    ("Anna Schön", "anna@bücher.example"),  # an IDN domain: A-labels will do
    ("Wang Wei", "王伟@例子.中国"),
    ("Plain Ascii", "plain@example.org"),
]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_international_addresses_reach_a_server_with_smtputf8(
    sessions: sessionmaker[Session], mail_server: MailServer, start_sender: Any
) -> None:
    queue_invitations(sessions, INTERNATIONAL)
    running = start_sender(sessions, mail_server.url)
    wait_until(lambda: all_done(sessions))
    running.stop()
    assert email_statuses(sessions) == {"sent": 4}
    envelopes = {message.recipients[0]: message for message in mail_server.handler.received}
    assert set(envelopes) == {
        "zoë@xn--bcher-kva.example",
        "anna@xn--bcher-kva.example",
        "王伟@xn--fsqu00a.xn--fiqs8s",
        "plain@example.org",
    }
    assert "SMTPUTF8" in envelopes["zoë@xn--bcher-kva.example"].mail_options
    assert "SMTPUTF8" not in envelopes["anna@xn--bcher-kva.example"].mail_options
    assert envelopes["anna@xn--bcher-kva.example"].parsed()["To"] == (
        "Anna Schön <anna@xn--bcher-kva.example>"
    )
    # The learner's mail program shows the address they were invited at, as it is written.
    assert envelopes["zoë@xn--bcher-kva.example"].parsed()["To"] == (
        "Zoë Müller <zoë@xn--bcher-kva.example>"
    )
    assert envelopes["王伟@xn--fsqu00a.xn--fiqs8s"].parsed()["To"] == (
        "Wang Wei <王伟@xn--fsqu00a.xn--fiqs8s>"
    )
    for message in envelopes.values():
        assert message.parsed().defects == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_without_smtputf8_a_non_ascii_local_part_fails_at_once_and_the_rest_go_out(
    sessions: sessionmaker[Session], start_sender: Any
) -> None:
    server = MailServer(smtputf8=False).start()
    try:
        queue_invitations(sessions, INTERNATIONAL)
        running = start_sender(sessions, server.url)
        wait_until(lambda: all_done(sessions))
        running.stop()
    finally:
        server.stop()
    statuses = {invitation.id: invitation for invitation in invitations(sessions)}
    assert [statuses[n].email_status for n in (1, 2, 3, 4)] == ["failed", "sent", "failed", "sent"]
    assert statuses[1].email_attempts == 1
    assert "SMTPUTF8" in (statuses[1].email_error or "")
    assert sorted(message.recipients[0] for message in server.handler.received) == [
        "anna@xn--bcher-kva.example",
        "plain@example.org",
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_maildir_takes_every_address_one_file_per_email(
    sessions: sessionmaker[Session], start_sender: Any, tmp_path: Path
) -> None:
    queue_invitations(sessions, [*INTERNATIONAL, *learners(8)])
    maildir = tmp_path / "outbox"
    running = start_sender(sessions, f"maildir://{maildir}")
    wait_until(lambda: all_done(sessions))
    running.stop()
    files = sorted((maildir / "new").iterdir())
    assert len(files) == 12
    assert not list((maildir / "tmp").iterdir())
    assert email_statuses(sessions) == {"sent": 12}
    for file in files:
        assert Received("", [], [], file.read_bytes()).parsed().defects == []

    # The same email again (its row due once more, as after a crash): the same file, no copy.
    with write_session(sessions) as session, session.begin():
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == 1)
            .values(status="queued", next_attempt_at=utcnow())
        )
    running = start_sender(sessions, f"maildir://{maildir}")
    wait_until(lambda: all_done(sessions))
    running.stop()
    assert sorted((maildir / "new").iterdir()) == files


def test_a_graceful_stop_records_what_was_in_flight_and_hands_back_the_rest(
    sessions: sessionmaker[Session], start_sender: Any
) -> None:
    server = MailServer(Recorder(delay=0.05)).start()
    try:
        queue_invitations(sessions, learners(300))
        running = start_sender(sessions, server.url, lease=timedelta(hours=1))
        wait_until(lambda: len(server.handler.received) >= 20)
        running.stop()
    finally:
        server.stop()
    rows = outbox(sessions)
    sent = {row.id for row in rows if row.status == "sent"}
    assert len(server.handler.received) == len(sent) < 300  # every delivery recorded
    assert max(server.handler.message_ids().values()) == 1
    assert {row.claimed_by for row in rows} == {None}  # nothing waits for the hour-long lease
    assert all(row.next_attempt_at <= utcnow() for row in rows if row.status == "queued")


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_claims_of_a_dead_process_on_this_host_are_taken_back_at_start(
    sessions: sessionmaker[Session], mail_server: MailServer, start_sender: Any
) -> None:
    queue_invitations(sessions, learners(6))
    lease_end = utcnow() + timedelta(hours=1)
    holders = {
        1: f"{this_host()}:{dead_pid()}:0badcafe",  # killed: taken back
        2: f"{this_host()}:{dead_pid()}:0badcafe",
        3: f"{this_host()}:{dead_pid()}:12345678",
        4: f"{this_host()}:{os.getpid()}:feedf00d",  # alive here: left alone
        5: f"elsewhere:{dead_pid()}:feedf00d",  # another host: only its lease tells
    }
    with write_session(sessions) as session, session.begin():
        for row_id, holder in holders.items():
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .values(claimed_by=holder, next_attempt_at=lease_end)
            )
    running = start_sender(sessions, mail_server.url)
    wait_until(lambda: sum(row.status == "sent" for row in outbox(sessions)) == 4)
    running.stop()
    rows = {row.id: row for row in outbox(sessions)}
    assert {row_id for row_id, row in rows.items() if row.status == "sent"} == {1, 2, 3, 6}
    assert (rows[4].claimed_by, rows[5].claimed_by) == (holders[4], holders[5])


def test_two_senders_renewing_short_leases_never_send_an_email_twice(
    sessions: sessionmaker[Session], start_sender: Any
) -> None:
    server = MailServer(Recorder(delay=0.5)).start()
    try:
        queue_invitations(sessions, learners(16))
        # Each claims 8 emails it needs 2 s to send, twice its 1 s lease: only renewal (every
        # third of a lease) keeps them its own. A renewal has 0.67 s of slack on a busy machine.
        options = {"concurrency": 2, "lease": timedelta(seconds=1)}
        first = start_sender(sessions, server.url, **options)
        second = start_sender(sessions, server.url, **options)
        wait_until(lambda: all_done(sessions))
        first.stop()
        second.stop()
    finally:
        server.stop()
    assert Counter(server.handler.message_ids().values()) == {1: 16}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_notify_from_another_thread_wakes_the_sender(
    sessions: sessionmaker[Session], mail_server: MailServer, start_sender: Any
) -> None:
    running = start_sender(sessions, mail_server.url, poll_interval=3600)
    wait_until(lambda: running.sender._loop is not None)
    queue_invitations(sessions, learners(3))
    notifier = threading.Thread(target=running.sender.notify)  # as a route in the threadpool
    notifier.start()
    notifier.join()
    wait_until(lambda: all_done(sessions), timeout=30)
    running.stop()
    assert len(mail_server.handler.received) == 3


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_empty_outbox_says_nothing_is_due_so_an_idle_sender_waits(
    sessions: sessionmaker[Session],
) -> None:
    from datetime import timedelta

    from tui.service.db import utcnow
    from tui.service.mail.outbox import NOTHING_DUE, claim_due

    claims, next_due = claim_due(sessions, "host:1:idle", 10, timedelta(seconds=30), utcnow())
    assert (claims, next_due) == ([], NOTHING_DUE)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_email_of_an_invitation_no_longer_pending_is_not_sent(
    sessions: sessionmaker[Session], mail_server: MailServer, start_sender: Any
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from tui.service.db import utcnow

    live, expired, revoked = queue_invitations(sessions, learners(3))
    with write_session(sessions) as session, session.begin():
        session.execute(
            update(Invitation)
            .where(Invitation.id == expired)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        session.execute(update(Invitation).where(Invitation.id == revoked).values(status="revoked"))
    running = start_sender(sessions, mail_server.url)
    wait_until(lambda: all_done(sessions))
    running.stop()

    assert [message.recipients for message in mail_server.handler.received] == [
        ["learner0@example.org"]
    ]
    by_id = {invitation.id: invitation for invitation in invitations(sessions)}
    assert by_id[live].email_status == "sent"
    assert (by_id[expired].email_status, by_id[expired].email_error) == (
        "failed",
        "Not sent: the invitation is expired.",
    )
    assert by_id[revoked].email_error == "Not sent: the invitation is revoked."


def test_an_older_emails_outcome_does_not_overwrite_the_invitations_latest_email(
    sessions: sessionmaker[Session],
) -> None:
    """A resend queued a new email while the old one was on the wire: the old one's outcome
    is recorded on its row, but the invitation keeps showing its latest email."""
    from tui.service.mail.outbox import Outcome, claim_due, record_outcomes

    [invitation_id] = queue_invitations(sessions, learners(1))
    [old], _ = claim_due(sessions, "host:1:a", 10, timedelta(seconds=30), utcnow())
    with write_session(sessions) as session, session.begin():
        now = utcnow()
        session.add(
            OutboxMessage(
                invitation_id=invitation_id,
                status="queued",
                attempts=0,
                queued_at=now,
                next_attempt_at=now,
            )
        )
    record_outcomes(sessions, [Outcome(old, "failed", "550 5.1.1 no such user")], utcnow())
    [row] = invitations(sessions)
    assert (row.email_status, row.email_error) == ("queued", None)
    assert [message.status for message in outbox(sessions)] == ["failed", "queued"]

    [new], _ = claim_due(sessions, "host:1:a", 10, timedelta(seconds=30), utcnow())
    record_outcomes(sessions, [Outcome(new, "sent")], utcnow())
    [row] = invitations(sessions)
    assert (row.email_status, row.email_attempts) == ("sent", 1)


def test_claims_take_the_longest_due_emails_first_and_no_more_than_asked(
    sessions: sessionmaker[Session],
) -> None:
    from tui.service.mail.outbox import claim_due

    queue_invitations(sessions, learners(30))
    now = utcnow()
    with write_session(sessions) as session, session.begin():
        for row_id in range(1, 31):  # row 30 has waited longest, row 1 least
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .values(next_attempt_at=now - timedelta(seconds=row_id))
            )
    claims, next_due = claim_due(sessions, "host:1:a", 10, timedelta(seconds=30), now)
    assert [claim.outgoing.outbox_id for claim in claims] == list(range(30, 20, -1))
    assert next_due is None  # as many as asked: there may be more
    claims, next_due = claim_due(sessions, "host:1:b", 25, timedelta(seconds=30), now)
    assert [claim.outgoing.outbox_id for claim in claims] == list(range(20, 0, -1))
    assert next_due == now + timedelta(seconds=30)  # the others' leases end then
