"""Creating invitations: the import commit and the single invitation, each one transaction.

Exactly once comes from the database, not from the client: a commit creates every invitation and
its outbox row in one transaction, the unique index allows one pending invitation per program and
learner, and a re-run finds the learners already invited and skips them.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import cast

from sqlalchemy import Select, Table, delete, func, insert, literal, select, update
from sqlalchemy.orm import Session

from tui.api.models import RowBatch
from tui.intake.report import Issue
from tui.service.checks import (
    Checked,
    check_rows,
    is_pending,
    rows_frame,
    seats_used,
    unavailable_reason,
)
from tui.service.checks import contract_program_ids as covered_programs
from tui.service.db import (
    Base,
    Contract,
    Import,
    ImportChunk,
    ImportFollowup,
    Invitation,
    Learner,
    OutboxMessage,
    Program,
    utcnow,
)
from tui.service.links import new_key
from tui.text import fold, learner_search_key

INVITATION_LIFETIME = timedelta(days=30)


def table(model: type[Base]) -> Table:
    """The model's table, for Core bulk statements that skip the ORM's per-row work."""
    return cast(Table, model.__table__)


class ImportConflict(Exception):
    """The commit cannot happen as asked (file errors, missing rows); nothing was written."""

    def __init__(
        self,
        code: str,
        message: str,
        checked: Checked | None = None,
        *,
        final: bool = True,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.checked = checked
        # A final refusal ends the import `rejected`; a missing chunk can still be sent.
        self.final = final

    @property
    def seats_left(self) -> int | None:
        return self.checked.seats_left if self.checked else None


def import_rows(session: Session, import_id: int) -> tuple[RowBatch, int]:
    """All rows received for an import, in chunk order, and the number of chunks."""
    rows = RowBatch(row=[], full_name=[], email=[], external_id=[])
    chunks = 0
    for (payload,) in session.execute(
        select(ImportChunk.rows).where(ImportChunk.import_id == import_id).order_by(ImportChunk.seq)
    ):
        chunk = json.loads(payload)
        rows.row += chunk["row"]
        rows.full_name += chunk["full_name"]
        rows.email += chunk["email"]
        rows.external_id += chunk["external_id"]
        chunks += 1
    return rows, chunks


def commit_import(session: Session, record: Import, expected_rows: int, today: date) -> None:
    """Create the import's invitations and queue their emails, all or nothing.

    The caller's session must come from `write_session`: the seats counted here are the seats
    taken, whatever other imports and invitations run at the same moment.
    """
    if record.status == "committed":
        return
    if record.status == "rejected":
        raise ImportConflict("import_rejected", "The import was refused; start a new one.")
    rows, _ = import_rows(session, record.id)
    if len(rows) != expected_rows:
        raise ImportConflict(
            "incomplete_import",
            f"The service received {len(rows):,} of the {expected_rows:,} rows; "
            "send the missing chunks again, then commit.",
            final=False,
        )
    program, contract = lock_for_invitations(session, record.program_id, record.contract_id)
    checked = check_rows(
        session, program, contract, rows_frame(rows), today, owed_since=record.created_at
    )
    if checked.file_errors:
        first = checked.file_errors[0]
        raise ImportConflict(first.code, first.message, checked)
    invited = create_invitations(
        session, program, contract, rows, checked, record.send_emails, import_id=record.id,
        message_id=record.message_id, update_learners=record.update_learners,
    )  # fmt: skip
    if checked.owed:
        session.execute(
            insert(ImportFollowup),
            [{"import_id": record.id, "invitation_id": id_} for id_ in checked.owed],
        )
    record.status = "committed"
    record.rows = len(rows)
    record.invited = invited
    record.skipped = dict(checked.skipped)
    record.errors = checked.errors
    record.issues = [issue.model_dump() for issue in checked.issues]
    record.committed_at = utcnow()
    # The rows are in the invitations now; the chunks were only a staging area.
    session.execute(delete(ImportChunk).where(ImportChunk.import_id == record.id))


def reject_import(session: Session, record: Import) -> None:
    """End a refused import: no invitations, and its rows are dropped."""
    record.status = "rejected"
    record.committed_at = utcnow()
    session.execute(delete(ImportChunk).where(ImportChunk.import_id == record.id))


def create_invitations(
    session: Session,
    program: Program,
    contract: Contract,
    rows: RowBatch,
    checked: Checked,
    send_emails: bool,
    import_id: int | None = None,
    message_id: int | None = None,
    update_learners: bool = False,
) -> int:
    """Insert learners, invitations and outbox rows for the checked batch's ready rows; their
    emails carry the admin's message `message_id`, if any. With `update_learners`, stored
    learners take the file's Full Name and External ID where they differ (`learner_differs`,
    which the import reports either way)."""
    now = utcnow()
    new: dict[str, dict[str, object]] = {}
    fill_external_id: list[dict[str, object]] = []
    learner_ids: dict[str, int] = {}
    for index, email, learner_id, learner_external_id, learner_name in checked.ready.iter_rows():
        key = email.lower()
        external_id = rows.external_id[index] or None
        if learner_id is not None and update_learners:
            full_name = rows.full_name[index]
            if full_name != learner_name or (external_id or learner_external_id) != (
                learner_external_id
            ):
                kept_id = external_id or learner_external_id
                session.execute(
                    update(Learner)
                    .where(Learner.id == learner_id)
                    .values(
                        full_name=full_name, external_id=kept_id,
                        search_key=learner_search_key(full_name, email, kept_id),
                    )
                )  # fmt: skip
            learner_ids[key] = learner_id
        elif learner_id is None:
            full_name = rows.full_name[index]
            new.setdefault(key, {
                "organization_id": program.organization_id, "email": email, "email_key": key,
                "full_name": full_name, "external_id": external_id, "created_at": now,
                "search_key": learner_search_key(full_name, email, external_id),
            })  # fmt: skip
        else:
            learner_ids[key] = learner_id
            if external_id and learner_external_id is None:
                # Fill an empty External ID; never overwrite one silently.
                fill_external_id.append({"learner_id": learner_id, "external_id": external_id})
    connection = session.connection()
    if new:
        # Plain executemany: RETURNING with ordered rows makes SQLAlchemy insert row by row.
        before = session.scalar(select(func.max(Learner.id))) or 0
        connection.execute(insert(table(Learner)), list(new.values()))
        learner_ids.update(
            (key, id_)
            for id_, key in session.execute(
                select(Learner.id, Learner.email_key).where(
                    Learner.organization_id == program.organization_id, Learner.id > before
                )
            )
            if key in new
        )
    for fill in fill_external_id:
        session.execute(
            update(Learner)
            .where(Learner.id == fill["learner_id"])
            .values(
                external_id=fill["external_id"],
                search_key=Learner.search_key + " " + fold(str(fill["external_id"])),
            )
        )

    expires = now + INVITATION_LIFETIME
    invitations = [
        {
            "organization_id": program.organization_id, "program_id": program.id,
            "contract_id": contract.id, "learner_id": learner_ids[email.lower()],
            "import_id": import_id, "message_id": message_id, "status": "pending",
            "email_status": "queued" if send_emails else "created",
            "token_key": new_key(), "created_at": now, "expires_at": expires,
            "accepted_at": None, "email_attempts": 0,
            "email_next_attempt_at": now if send_emails else None,
        }
        for email in checked.ready["normalized"]
    ]  # fmt: skip
    if not invitations:
        return 0
    before = session.scalar(select(func.max(Invitation.id))) or 0
    connection.execute(insert(table(Invitation)), invitations)
    if send_emails:
        # This call's invitations: above the previous highest id, of this program, created now.
        connection.execute(
            insert(table(OutboxMessage)).from_select(
                ["invitation_id", "status", "attempts", "queued_at", "next_attempt_at"],
                select(
                    Invitation.id, literal("queued"), literal(0), literal(now), literal(now)
                ).where(
                    Invitation.id > before,
                    Invitation.program_id == program.id,
                    Invitation.created_at == now,
                ),
            )
        )
    return len(invitations)


def queue_email(session: Session, invitation: Invitation, now: datetime) -> None:
    """Queue a new email for the invitation (a resend): a new outbox row, a new retry window."""
    session.add(
        OutboxMessage(
            invitation_id=invitation.id, status="queued", attempts=0, queued_at=now,
            next_attempt_at=now,
        )
    )  # fmt: skip
    invitation.email_status = "queued"
    invitation.email_attempts = 0
    invitation.email_error = None
    invitation.email_next_attempt_at = now


def lock_for_invitations(
    session: Session, program_id: int, contract_id: int
) -> tuple[Program, Contract]:
    """The program and the contract, locked until the transaction ends; stale pending
    invitations of the program are marked expired so their learners can be invited again.

    Every path that creates or revives a pending invitation goes through here. On PostgreSQL
    the rows are locked (program first, then contract, so two paths never wait on each other
    in a cycle); on SQLite the caller's `write_session` already holds the only write lock.
    """
    lock = session.get_bind().dialect.name == "postgresql"
    program_query = select(Program).where(Program.id == program_id)
    contract_query = select(Contract).where(Contract.id == contract_id)
    if lock:
        program_query = program_query.with_for_update()
        contract_query = contract_query.with_for_update()
    program = session.scalars(program_query).one()
    contract = session.scalars(contract_query).one()
    session.execute(
        update(Invitation)
        .where(
            Invitation.program_id == program_id,
            Invitation.status == "pending",
            Invitation.expires_at <= utcnow(),
        )
        .values(status="expired")
        .execution_options(synchronize_session=False)
    )
    return program, contract


class InvitationConflict(Exception):
    """A single invitation cannot be changed as asked."""

    def __init__(self, code: str, message: str, seats_left: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.seats_left = seats_left


def resend_invitation(session: Session, invitation: Invitation, today: date) -> None:
    """A new email and a renewed expiry. An expired invitation comes back to life only if its
    contract is still active, has a seat, and the learner has no other pending invitation."""
    now = utcnow()
    if invitation.status in ("accepted", "revoked"):
        raise InvitationConflict(
            "not_pending",
            f"The invitation is {invitation.status}; only pending or expired invitations can be "
            "sent again.",
        )
    _, contract = lock_for_invitations(session, invitation.program_id, invitation.contract_id)
    session.refresh(invitation)
    if invitation.status == "expired":
        other = session.scalar(
            select(func.count())
            .select_from(Invitation)
            .where(
                Invitation.program_id == invitation.program_id,
                Invitation.learner_id == invitation.learner_id,
                Invitation.id != invitation.id,
                is_pending(now) | (Invitation.status == "accepted"),
            )
        )
        if other:
            raise InvitationConflict(
                "already_invited",
                "The learner already has another pending or accepted invitation to this program.",
            )
        used = seats_used(session, contract.id, now)
        reason = unavailable_reason(
            contract, covered_programs(session, contract.id), used, invitation.program_id, today
        )
        if reason:
            code = "contract_capacity" if reason.startswith("full") else "contract_unavailable"
            raise InvitationConflict(
                code,
                f'The contract "{contract.name}" {reason}; the invitation stays expired.',
                seats_left=None if contract.seats is None else max(contract.seats - used, 0),
            )
        invitation.status = "pending"
    invitation.expires_at = now + INVITATION_LIFETIME
    queue_email(session, invitation, now)


def revoke_invitation(session: Session, invitation: Invitation) -> None:
    """Revoke a pending invitation: its seat is free, and its queued email is not sent."""
    if invitation.status != "pending" or invitation.expires_at <= utcnow():
        return
    invitation.status = "revoked"
    if invitation.email_status in ("queued", "retrying"):
        reason = "Not sent: the invitation was revoked."
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.invitation_id == invitation.id, OutboxMessage.status == "queued")
            .values(status="failed", last_error=reason)
        )
        invitation.email_status = "failed"
        invitation.email_error = reason
        invitation.email_next_attempt_at = None


def commit_issues(record: Import) -> list[Issue]:
    return [Issue.model_validate(issue) for issue in record.issues]


def resend_many(
    session: Session, selected: Select[int], now: datetime, *, renew: bool = True
) -> tuple[int, int]:
    """Resend every live pending invitation in `selected` (a query of invitation ids): a new
    email each, and the expiry renewed unless `renew` is False (a reminder). Returns (matched,
    changed); expired, accepted and revoked ones are left as they are (an expired one is
    revived one at a time, with its seat).
    """
    live = select(Invitation.id).where(Invitation.id.in_(selected), is_pending(now))
    matched = session.scalar(select(func.count()).where(Invitation.id.in_(selected))) or 0
    ids = list(session.scalars(live))
    for start in range(0, len(ids), 5_000):
        batch = ids[start : start + 5_000]
        session.execute(
            update(Invitation)
            .where(Invitation.id.in_(batch))
            .values(
                email_status="queued", email_attempts=0, email_error=None,
                email_next_attempt_at=now,
                **({"expires_at": now + INVITATION_LIFETIME} if renew else {}),
            )
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        session.execute(
            insert(table(OutboxMessage)),
            [{"invitation_id": id_, "status": "queued", "attempts": 0, "queued_at": now,
              "next_attempt_at": now} for id_ in batch],
        )  # fmt: skip
    return matched, len(ids)


def revoke_many(session: Session, selected: Select[int], now: datetime) -> tuple[int, int]:
    """Revoke every live pending invitation in `selected`: their seats are free, and their
    queued emails are not sent. Returns (matched, changed)."""
    matched = session.scalar(select(func.count()).where(Invitation.id.in_(selected))) or 0
    ids = list(session.scalars(select(Invitation.id).where(Invitation.id.in_(selected),
                                                           is_pending(now))))  # fmt: skip
    reason = "Not sent: the invitation was revoked."
    for start in range(0, len(ids), 5_000):
        batch = ids[start : start + 5_000]
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.invitation_id.in_(batch), OutboxMessage.status == "queued")
            .values(status="failed", last_error=reason)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Invitation)
            .where(Invitation.id.in_(batch), Invitation.email_status.in_(("queued", "retrying")))
            .values(email_status="failed", email_error=reason, email_next_attempt_at=None)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Invitation)
            .where(Invitation.id.in_(batch))
            .values(status="revoked")
            .execution_options(synchronize_session=False)
        )
    return matched, len(ids)
