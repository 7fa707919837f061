"""The automatic reminder: a still pending invitation is reminded once, `remind_after_days`
after its email was sent, by whatever sends mail (the outbox sender calls `queue_due_reminders`
every `REMINDER_SCAN_INTERVAL`).

Safe with any number of senders: the candidates are read without a lock, then queued in one
write transaction whose UPDATE sets `reminded_at` only where it is still unset, and which
returns the invitations it changed. On SQLite the write transaction is the database's only
writer; on PostgreSQL the rows are locked first (`FOR UPDATE SKIP LOCKED`: those another
sender holds are left to it), and a row another sender reminded meanwhile no longer matches.
Only the invitations a transaction changed get an email, so each is reminded once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final, cast

from sqlalchemy import Table, insert, literal_column, select, update
from sqlalchemy.orm import Session, sessionmaker

from tui.service import audit
from tui.service.db import Invitation, Learner, Organization, OutboxMessage, write_session

# How often a sender looks for invitations due a reminder: reminders are counted in days, so
# a minute late is on time, and the look is one indexed query per organization with a policy.
REMINDER_SCAN_INTERVAL: Final = 60.0
# Invitations reminded per transaction: the write lock is held briefly, and one audit entry
# per program of the batch names its learners.
REMINDER_BATCH: Final = 500
# Batches per scan at most: a backlog (a policy just switched on over many invitations) goes
# out over a few scans rather than holding the sender in one.
MAX_BATCHES_PER_SCAN: Final = 20

OUTBOX = cast(Table, OutboxMessage.__table__)


def _due(organization_id: int, remind_after_days: int, now: datetime) -> list[Any]:
    """The conditions of an invitation of the organization due its automatic reminder: pending,
    live, never reminded, its last email sent `remind_after_days` ago or more (the partial
    index ix_invitations_to_remind holds exactly the pending ones never reminded)."""
    return [
        Invitation.organization_id == organization_id,
        # Written as the index's own predicate, not a parameter: a prepared statement's
        # generic plan on PostgreSQL could not prove a parameter matches it.
        Invitation.status == literal_column("'pending'"),
        Invitation.reminded_at.is_(None),
        Invitation.email_sent_at <= now - timedelta(days=remind_after_days),
        Invitation.email_status == "sent",
        Invitation.expires_at > now,
    ]


def queue_due_reminders(
    sessions: sessionmaker[Session], now: datetime, batch: int = REMINDER_BATCH
) -> int:
    """Queue the reminder email of every invitation due one (in batches, each its own write
    transaction with one audit entry per program); how many were queued."""
    with sessions() as session:
        policies = session.execute(
            select(Organization.id, Organization.remind_after_days).where(
                Organization.remind_after_days.is_not(None)
            )
        ).all()
    queued = 0
    for organization_id, days in policies:
        if days is None:  # the query's own condition: for the type checker
            continue
        for _ in range(MAX_BATCHES_PER_SCAN):
            due = _due(organization_id, days, now)
            with sessions() as session:
                # Read first, without the write lock: most scans find nothing.
                ids = list(
                    session.scalars(
                        select(Invitation.id)
                        .where(*due)
                        .order_by(Invitation.email_sent_at)
                        .limit(batch)
                    )
                )
            if not ids:
                break
            queued += _queue_reminders(sessions, organization_id, ids, due, now)
            if len(ids) < batch:
                break
    return queued


def _queue_reminders(
    sessions: sessionmaker[Session],
    organization_id: int,
    ids: list[int],
    due: list[Any],
    now: datetime,
) -> int:
    """Remind the invitations `ids` still due (`due`, checked again under the write lock)."""
    with write_session(sessions) as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            # The rows another sender is reminding are skipped, not waited for: two senders
            # locking the same rows in different orders would deadlock.
            ids = list(
                session.scalars(
                    select(Invitation.id)
                    .where(Invitation.id.in_(ids), *due)
                    .order_by(Invitation.id)
                    .with_for_update(skip_locked=True)
                )
            )
        reminded = session.execute(
            update(Invitation)
            .where(Invitation.id.in_(ids), *due)
            .values(
                reminded_at=now,
                email_status="queued",
                email_attempts=0,
                email_error=None,
                email_next_attempt_at=now,
            )
            .returning(Invitation.id, Invitation.program_id)
            .execution_options(synchronize_session=False)
        ).all()
        if not reminded:
            return 0
        session.execute(
            insert(OUTBOX),
            [
                {
                    "invitation_id": id_,
                    "status": "queued",
                    "attempts": 0,
                    "queued_at": now,
                    "next_attempt_at": now,
                    "kind": "reminder",
                }
                for id_, _ in reminded
            ],
        )
        by_program: defaultdict[int, list[int]] = defaultdict(list)
        for id_, program_id in reminded:
            by_program[program_id].append(id_)
        for program_id, program_ids in sorted(by_program.items()):
            record_reminded(
                session,
                organization_id,
                audit.AUTOMATIC_ACTOR,
                program_ids,
                program_id,
                details={"automatic": True},
            )
    return len(reminded)


def record_reminded(
    session: Session,
    organization_id: int,
    actor: audit.Actor,
    ids: Sequence[int],
    program_id: int | None,
    details: dict[str, Any] | None = None,
) -> None:
    """The audit entry of reminders queued in this transaction: how many, and the learners'
    emails when there are few enough to name (audit.MAX_NAMED_LEARNERS)."""
    learners: list[str] | None = None
    if len(ids) <= audit.MAX_NAMED_LEARNERS:
        learners = list(
            session.scalars(
                select(Learner.email)
                .join(Invitation, Invitation.learner_id == Learner.id)
                .where(Invitation.id.in_(ids))
                .order_by(Invitation.id)
            )
        )
    audit.record(
        session,
        organization_id,
        actor,
        "invitation.reminded",
        program_id=program_id,
        count=len(ids),
        learners=learners,
        details=details,
    )
