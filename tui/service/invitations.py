"""Creating invitations: the import commit and the single invitation, each one transaction.

Exactly once comes from the database, not from the client: a commit creates every invitation and
its outbox row in one transaction, the unique index allows one pending invitation per program and
learner, and a re-run finds the learners already invited and skips them.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from datetime import date, datetime, timedelta
from typing import cast

from sqlalchemy import Table, func, insert, literal, select, update
from sqlalchemy.orm import Session

from tui.api.models import RowBatch
from tui.intake.report import Issue
from tui.service.checks import Checked, check_rows
from tui.service.db import (
    Base,
    Contract,
    Import,
    ImportChunk,
    Invitation,
    Learner,
    OutboxMessage,
    Program,
    utcnow,
)

INVITATION_LIFETIME = timedelta(days=30)


def table(model: type[Base]) -> Table:
    """The model's table, for Core bulk statements that skip the ORM's per-row work."""
    return cast(Table, model.__table__)


class ImportConflict(Exception):
    """The commit cannot happen as asked (file errors, missing rows); nothing was written."""

    def __init__(self, code: str, message: str, checked: Checked | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.checked = checked


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
    """Create the import's invitations and queue their emails, all or nothing."""
    if record.status == "committed":
        return
    rows, _ = import_rows(session, record.id)
    if len(rows) != expected_rows:
        raise ImportConflict(
            "incomplete_import",
            f"The service received {len(rows):,} of the {expected_rows:,} rows; "
            "send the missing chunks again, then commit.",
        )
    program = session.get_one(Program, record.program_id)
    contract = _lock_contract(session, record.contract_id)
    checked = check_rows(session, program, contract, rows, today)
    if checked.file_errors:
        first = checked.file_errors[0]
        raise ImportConflict(first.code, first.message, checked)
    invited = create_invitations(
        session, program, contract, rows, checked, record.send_emails, import_id=record.id
    )
    record.status = "committed"
    record.rows = len(rows)
    record.invited = invited
    record.skipped = json.dumps(dict(checked.skipped))
    record.errors = checked.errors
    record.issues = json.dumps([issue.model_dump() for issue in checked.issues])
    record.committed_at = utcnow()


def create_invitations(
    session: Session,
    program: Program,
    contract: Contract,
    rows: RowBatch,
    checked: Checked,
    send_emails: bool,
    import_id: int | None = None,
) -> int:
    """Insert learners, invitations and outbox rows for the checked batch's ready rows."""
    now = utcnow()
    new: dict[str, dict[str, object]] = {}
    fill_external_id: list[dict[str, object]] = []
    learner_ids: dict[str, int] = {}
    for index, email, learner_id, learner_external_id in zip(
        checked.ready, checked.emails, checked.learner_ids, checked.external_ids, strict=True
    ):
        key = email.lower()
        external_id = rows.external_id[index] or None
        if learner_id is None:
            new.setdefault(key, {
                "organization_id": program.organization_id, "email": email, "email_key": key,
                "full_name": rows.full_name[index], "external_id": external_id, "created_at": now,
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
            .values(external_id=fill["external_id"])
        )

    expires = now + INVITATION_LIFETIME
    invitations = [
        {
            "organization_id": program.organization_id, "program_id": program.id,
            "contract_id": contract.id, "learner_id": learner_ids[email.lower()],
            "import_id": import_id, "status": "pending",
            "email_status": "queued" if send_emails else "created",
            "token": secrets.token_urlsafe(24), "created_at": now, "expires_at": expires,
            "accepted_at": None,
        }
        for email in checked.emails
    ]  # fmt: skip
    if not invitations:
        return 0
    before = session.scalar(select(func.max(Invitation.id))) or 0
    connection.execute(insert(table(Invitation)), invitations)
    if send_emails:
        # This call's invitations: above the previous highest id, of this program, created now.
        connection.execute(
            insert(table(OutboxMessage)).from_select(
                ["invitation_id", "status", "attempts", "next_attempt_at"],
                select(Invitation.id, literal("queued"), literal(0), literal(now)).where(
                    Invitation.id > before,
                    Invitation.program_id == program.id,
                    Invitation.created_at == now,
                ),
            )
        )
    return len(invitations)


def queue_emails(session: Session, invitation_ids: list[int], now: datetime) -> None:
    if invitation_ids:
        session.execute(
            insert(OutboxMessage),
            [
                {"invitation_id": id_, "status": "queued", "attempts": 0, "next_attempt_at": now}
                for id_ in invitation_ids
            ],
        )


def expire_invitations(session: Session) -> None:
    session.execute(
        update(Invitation)
        .where(Invitation.status == "pending", Invitation.expires_at < utcnow())
        .values(status="expired")
    )


def _lock_contract(session: Session, contract_id: int) -> Contract:
    """The contract, locked on PostgreSQL so concurrent commits cannot oversell its seats.

    SQLite has one writer at a time already.
    """
    query = select(Contract).where(Contract.id == contract_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.scalars(query).one()


def skipped_counts(record: Import) -> dict[str, int]:
    return dict(Counter(json.loads(record.skipped)))


def commit_issues(record: Import) -> list[Issue]:
    return [Issue.model_validate(issue) for issue in json.loads(record.issues)]
