"""The audit entries of the invitation changes an admin makes through the API: an import
committed, one learner invited, invitations resent or revoked, stored learners updated. Each
is written last in the change's own transaction (tui.service.audit), so it commits with it.

A bulk change is one entry with its count, never one per invitation: a million-row import
writes one row to the record."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from tui.service import audit
from tui.service.db import Admin, Import, Invitation, Learner
from tui.service.seats import is_pending
from tui.wire import models as wire


def import_committed(
    session: Session, me: Admin, record: Import, updated: tuple[int, list[str]]
) -> None:
    """The committed import's entry, with its counts; and, when it gave stored learners the
    file's values, a `learner.updated` entry naming them (`updated`: how many, their emails)."""
    actor = audit.Actor.admin(me)
    audit.record(
        session,
        me.organization_id,
        actor,
        "import.committed",
        program_id=record.program_id,
        contract_id=record.contract_id,
        count=record.invited,
        details={
            "import_id": record.id,
            "file_name": record.file_name,
            "rows": record.rows,
            "skipped": dict(record.skipped),
            "errors": record.errors,
            "send_emails": record.send_emails,
        },
    )
    count, emails = updated
    if count:
        audit.record(
            session,
            me.organization_id,
            actor,
            "learner.updated",
            program_id=record.program_id,
            count=count,
            learners=emails,
            details={"import_id": record.id, "fields": "from the file (update learners)"},
        )


def invitation_changed(session: Session, me: Admin, action: str, invitation: Invitation) -> None:
    """One invitation created, resent or revoked."""
    email = session.scalar(select(Learner.email).where(Learner.id == invitation.learner_id))
    audit.record(
        session,
        me.organization_id,
        audit.Actor.admin(me),
        action,
        program_id=invitation.program_id,
        contract_id=invitation.contract_id,
        count=1,
        learners=[email] if email else None,
        details={"invitation_id": invitation.id},
    )


def live_program(session: Session, selected: Select[int], now: datetime) -> int | None:
    """The one program of the live pending invitations in `selected` (None: several, or
    none), for an entry of invitations chosen by id."""
    programs = list(
        session.scalars(
            select(Invitation.program_id)
            .where(Invitation.id.in_(selected), is_pending(now))
            .distinct()
            .limit(2)
        )
    )
    return programs[0] if len(programs) == 1 else None


def live_emails(session: Session, selected: Select[int], now: datetime) -> list[str]:
    """The learners' emails of the live pending invitations in `selected`, read before a bulk
    action changes them; at most one more than the record names (it then keeps the count)."""
    return list(
        session.scalars(
            select(Learner.email)
            .join(Invitation, Invitation.learner_id == Learner.id)
            .where(Invitation.id.in_(selected), is_pending(now))
            .order_by(Invitation.id)
            .limit(audit.MAX_NAMED_LEARNERS + 1)
        )
    )


def bulk_changed(
    session: Session,
    me: Admin,
    action: str,
    selection: wire.InvitationSelection,
    changed: int,
    emails: list[str],
    program_id: int | None = None,
) -> None:
    """A bulk resend or revoke (one batch of it): the count changed, the learners, the filter
    that chose them, the program (`program_id` when the filter names none but all were of
    one). A batch that changed nothing writes nothing."""
    if not changed:
        return
    chosen = selection.model_dump(
        exclude_none=True, exclude={"limit", "after_id", "ids"}, exclude_defaults=True
    )
    if selection.ids is not None:
        chosen["chosen_by_id"] = len(selection.ids)
    audit.record(
        session,
        me.organization_id,
        audit.Actor.admin(me),
        action,
        program_id=selection.program_id or program_id,
        contract_id=selection.contract_id,
        count=changed,
        learners=emails[:changed],
        details={"filter": chosen},
    )
