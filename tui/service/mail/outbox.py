"""The outbox in the database: due emails claimed under a lease, each outcome recorded with its
invitation in one transaction, and what a sender holds released.

Every function is one short transaction, run in a worker thread by the sender. A row a sender
holds has `claimed_by` set and `next_attempt_at` at the end of its lease, so another sender (or a
restart) takes it over only once the lease has run out or the holder is known to be dead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from tui.service.db import (
    Invitation,
    Learner,
    Message,
    Organization,
    OutboxMessage,
    OutboxState,
    Program,
    write_session,
)
from tui.service.mail.render import Outgoing
from tui.wire.models import EmailStatus

OUTBOX = cast(Table, OutboxMessage.__table__)
INVITATIONS = cast(Table, Invitation.__table__)
# The invitation shows its latest email: an older row's outcome (a resend raced it) is not news.
# Asked as "no later email of this invitation", which PostgreSQL answers from the invitation_id
# index; as max(id) = row it may walk the whole outbox backwards when its statistics are stale
# (right after a large import).
NO_LATER_EMAIL = ~(
    select(OUTBOX.c.id)
    .where(OUTBOX.c.invitation_id == INVITATIONS.c.id, OUTBOX.c.id > bindparam("row"))
    .exists()
)
EMAIL_STATUS: dict[OutboxState, EmailStatus] = {
    "sent": "sent",
    "failed": "failed",
    "queued": "retrying",
}


@dataclass(frozen=True, slots=True)
class Claim:
    """An outbox row a sender holds: the email, and its delivery so far."""

    outgoing: Outgoing
    attempts: int  # before this attempt
    queued_at: datetime  # the retry window counts from here


@dataclass(frozen=True, slots=True)
class Outcome:
    """An attempt's result: the row's next state (queued again means a retry at `retry_at`)."""

    claim: Claim
    state: OutboxState
    error: str | None = None
    retry_at: datetime | None = None


NOTHING_DUE = datetime.max


def _drop_unsendable(session: Session, rows: list[tuple[int, int, str]], now: datetime) -> None:
    """Emails of invitations no longer pending (expired, revoked, accepted) are not sent: an
    expired invitation's link would only say so. They end failed, with the reason."""
    for outbox_id, invitation_id, status in rows:
        state = "expired" if status == "pending" else status
        reason = f"Not sent: the invitation is {state}."
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id)
            .values(status="failed", last_error=reason, claimed_by=None)
        )
        session.execute(
            update(Invitation)
            .where(Invitation.id == invitation_id, Invitation.email_status != "sent")
            .values(email_status="failed", email_error=reason, email_next_attempt_at=None)
        )


def claim_due(
    sessions: sessionmaker[Session], holder: str, limit: int, lease: timedelta, now: datetime
) -> tuple[list[Claim], datetime | None]:
    """Take up to `limit` due emails for `holder` until `now + lease`; with them, when the
    next email not held by `holder` falls due (None when `limit` were due: there may be more)."""
    # The rows first, in the due index's order: the query stops after `limit` rows however many
    # are due (joined first, PostgreSQL may join and sort every due row before the limit).
    due = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == "queued", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at)
        .limit(limit)
    )
    with write_session(sessions) as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            # Concurrent senders each take other rows instead of waiting for each other.
            due = due.with_for_update(skip_locked=True)
        query = (
            select(
                OutboxMessage.id,
                OutboxMessage.invitation_id,
                Learner.email,
                Learner.full_name,
                Program.name,
                Organization.name,
                Invitation.token_key,
                Message.text,
                Organization.sender_name,
                OutboxMessage.attempts,
                OutboxMessage.queued_at,
                Invitation.status,
                Invitation.expires_at,
                OutboxMessage.kind,
            )
            .join(Invitation, Invitation.id == OutboxMessage.invitation_id)
            .outerjoin(Message, Message.id == Invitation.message_id)
            .join(Learner, Learner.id == Invitation.learner_id)
            .join(Program, Program.id == Invitation.program_id)
            .join(Organization, Organization.id == Invitation.organization_id)
            .where(OutboxMessage.id.in_(due.scalar_subquery()))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        )
        rows = list(session.execute(query))
        # Split in one pass by position: testing a row's membership in a list of rows compares
        # rows field by field in Python, n² times (two thirds of a claim of 128 rows).
        claims: list[Claim] = []
        unsendable: list[tuple[int, int, str]] = []
        for row in rows:
            if row[11] == "pending" and row[12] > now:
                outgoing = Outgoing(*row[:9], kind=row[13], expires_at=row[12])
                claims.append(Claim(outgoing, attempts=row[9], queued_at=row[10]))
            else:
                unsendable.append((row[0], row[1], row[11]))
        _drop_unsendable(session, unsendable, now)
        if claims:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([claim.outgoing.outbox_id for claim in claims]))
                .values(claimed_by=holder, next_attempt_at=now + lease)
                .execution_options(synchronize_session=False)
            )
        if len(rows) == limit:
            return claims, None
        next_due = session.scalar(
            select(func.min(OutboxMessage.next_attempt_at)).where(
                OutboxMessage.status == "queued",
                or_(OutboxMessage.claimed_by.is_(None), OutboxMessage.claimed_by != holder),
            )
        )
    # Nothing else queued: nothing falls due until mail is queued (and the sender notified).
    return claims, next_due or NOTHING_DUE


SET_OUTBOX = (
    update(OUTBOX)
    .where(OUTBOX.c.id == bindparam("row"), OUTBOX.c.status == "queued")
    .values(
        status=bindparam("state"),
        attempts=bindparam("attempts"),
        last_error=bindparam("error"),
        next_attempt_at=bindparam("due"),
        sent_at=bindparam("sent"),
        claimed_by=None,
    )
)
SET_INVITATION = (
    update(INVITATIONS)
    .where(
        INVITATIONS.c.id == bindparam("invitation"),
        NO_LATER_EMAIL,
        # Only what the outbox row now says (a revoke may have ended it meanwhile).
        select(OUTBOX.c.id)
        .where(
            OUTBOX.c.id == bindparam("row"),
            OUTBOX.c.status == bindparam("state"),
            OUTBOX.c.attempts == bindparam("attempts"),
        )
        .exists(),
    )
    .values(
        email_status=bindparam("email_status"),
        email_attempts=bindparam("attempts"),
        email_error=bindparam("error"),
        email_next_attempt_at=bindparam("retry"),
        email_sent_at=bindparam("sent"),
    )
)


def record_outcomes(
    sessions: sessionmaker[Session], outcomes: Sequence[Outcome], now: datetime
) -> None:
    """Write the attempts' results to their outbox rows and invitations, in one transaction."""
    rows = [_parameters(outcome, now) for outcome in outcomes]
    with write_session(sessions) as session, session.begin():
        connection = session.connection()
        connection.execute(SET_OUTBOX, rows)
        connection.execute(SET_INVITATION, rows)


def _parameters(outcome: Outcome, now: datetime) -> dict[str, Any]:
    claim = outcome.claim
    return {
        "row": claim.outgoing.outbox_id,
        "invitation": claim.outgoing.invitation_id,
        "state": outcome.state,
        "email_status": EMAIL_STATUS[outcome.state],
        "attempts": claim.attempts + 1,
        "error": outcome.error,
        "due": outcome.retry_at or now,
        "retry": outcome.retry_at,
        "sent": now if outcome.state == "sent" else None,
    }


def renew_leases(
    sessions: sessionmaker[Session], holder: str, outbox_ids: Sequence[int], until: datetime
) -> None:
    """Extend the lease on the rows `holder` still holds."""
    with write_session(sessions) as session, session.begin():
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(outbox_ids),
                OutboxMessage.claimed_by == holder,
                OutboxMessage.status == "queued",
            )
            .values(next_attempt_at=until)
            .execution_options(synchronize_session=False)
        )


def release(sessions: sessionmaker[Session], holders: Sequence[str], now: datetime) -> int:
    """Hand the rows these holders still hold back to any sender, due now; how many."""
    if not holders:
        return 0
    with write_session(sessions) as session, session.begin():
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.claimed_by.in_(holders), OutboxMessage.status == "queued")
            .values(claimed_by=None, next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
    return int(getattr(result, "rowcount", 0) or 0)


def dead_holders(
    sessions: sessionmaker[Session], host: str, alive: Callable[[int], bool] | None = None
) -> list[str]:
    """Holders named `host:pid:...` whose process no longer runs on this host."""
    alive = alive or pid_alive
    with sessions() as session:
        holders = session.scalars(
            select(OutboxMessage.claimed_by)
            .where(OutboxMessage.status == "queued", OutboxMessage.claimed_by.is_not(None))
            .distinct()
        ).all()
    dead = []
    for holder in holders:
        if holder is None:
            continue
        name, _, rest = holder.partition(":")
        pid = rest.partition(":")[0]
        if name == host and pid.isdigit() and not alive(int(pid)):
            dead.append(holder)
    return dead


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
