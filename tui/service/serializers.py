"""Database rows to wire models: what the routes return."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Text, case, func, literal, or_, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session, sessionmaker

from tui.service.catalog import ARCHIVED_SUFFIX, archived_name
from tui.service.db import (
    Admin,
    Contract,
    Import,
    ImportChunk,
    ImportFollowup,
    Invitation,
    Learner,
    Program,
)
from tui.service.seats import contract_program_ids, live_status, seats_used, unavailable_reason
from tui.wire import models as wire

InvitationRows = Select[Invitation, str, Learner, str, str]
# checks and invitations bring polars: they are imported where they are used, so that the
# routes that only read (roster programs) run without it.


def contract_out(
    session: Session, contract: Contract, program_id: int | None, now: datetime
) -> wire.Contract:
    used = seats_used(session, contract.id, now)
    program_ids = contract_program_ids(session, contract.id)
    reason = unavailable_reason(contract, program_ids, used, program_id, date.today())
    return wire.Contract(
        id=contract.id,
        name=contract.name,
        seats_total=contract.seats,
        seats_used=used,
        seats_left=None if contract.seats is None else max(contract.seats - used, 0),
        starts_on=contract.starts_on,
        ends_on=contract.ends_on,
        available=reason is None,
        unavailable_reason=reason,
        program_ids=program_ids,
        archived_at=contract.archived_at,
    )


def import_out(session: Session, record: Import, *, with_issues: bool = True) -> wire.ImportStatus:
    """The import and its emails: its own invitations' and those it found still owed."""
    from tui.service.invitations import commit_issues

    mine = or_(
        Invitation.import_id == record.id,
        Invitation.id.in_(
            select(ImportFollowup.invitation_id).where(ImportFollowup.import_id == record.id)
        ),
    )
    # Counted apart and added: one condition with OR read every invitation at a million.
    # The follow-ups are other imports' invitations, never the import's own.
    own = select(Invitation.email_status, func.count()).where(
        Invitation.import_id == record.id, Invitation.email_status != "created"
    )
    followed = (
        select(Invitation.email_status, func.count())
        .join(ImportFollowup, ImportFollowup.invitation_id == Invitation.id)
        .where(
            ImportFollowup.import_id == record.id,
            Invitation.email_status != "created",
            or_(Invitation.import_id.is_(None), Invitation.import_id != record.id),
        )
    )
    counts: dict[str, int] = {}
    for query in (own, followed):
        for status, count in session.execute(query.group_by(Invitation.email_status)):
            counts[status] = counts.get(status, 0) + count
    problem = None
    if counts.get("retrying"):
        problem = session.execute(
            select(Invitation.email_error, Invitation.email_next_attempt_at)
            .where(mine, Invitation.email_status == "retrying")
            .order_by(Invitation.email_next_attempt_at.desc())
            .limit(1)
        ).first()
    chunks = session.scalar(select(func.count()).where(ImportChunk.import_id == record.id))
    # The session keeps each: a page of imports looks each program up once.
    program_row = session.get_one(Program, record.program_id)
    contract_row = session.get_one(Contract, record.contract_id)
    program = archived_name(program_row.name, program_row.archived_at is not None)
    contract = archived_name(contract_row.name, contract_row.archived_at is not None)
    admin = session.get_one(Admin, record.admin_id).email
    return wire.ImportStatus(
        id=record.id,
        status=record.status,
        program_id=record.program_id,
        program_name=program,
        contract_id=record.contract_id,
        contract_name=contract,
        admin_email=admin,
        send_emails=record.send_emails,
        file_name=record.file_name,
        message=record.message.text if record.message else None,
        update_learners=record.update_learners,
        mode="sync" if record.mode == "sync" else "import",
        sync=record.sync_counts,
        rows=record.rows,
        chunks=chunks or 0,
        invited=record.invited,
        skipped=dict(record.skipped),
        errors=record.errors,
        warnings=record.warnings,
        left_out=record.rows_left_out,
        emails_queued=sum(counts.values()),
        emails_sent=counts.get("sent", 0),
        emails_failed=counts.get("failed", 0),
        emails_retrying=counts.get("retrying", 0),
        email_problem=problem[0] if problem else None,
        next_email_attempt_at=problem[1] if problem else None,
        created_at=record.created_at,
        committed_at=record.committed_at,
        issues=commit_issues(record) if with_issues else [],
    )


def shown_name(model: type[Program] | type[Contract]) -> ColumnElement[str]:
    """The program's or contract's name as listings of history show it: "Name (archived)"
    once archived (`catalog.archived_name`, in SQL)."""
    return case(
        (model.archived_at.is_not(None), model.name + literal(ARCHIVED_SUFFIX)),
        else_=model.name,
    )


def select_invitations(now: datetime) -> InvitationRows:
    return (
        select(Invitation, live_status(now), Learner, shown_name(Program), shown_name(Contract))
        .join(Learner, Learner.id == Invitation.learner_id)
        .join(Program, Program.id == Invitation.program_id)
        .join(Contract, Contract.id == Invitation.contract_id)
    )


def invitations_out(session: Session, query: InvitationRows) -> list[wire.Invitation]:
    return [
        wire.Invitation(
            id=invitation.id,
            program_id=invitation.program_id,
            program_name=program_name,
            contract_id=invitation.contract_id,
            contract_name=contract_name,
            learner_id=learner.id,
            email=learner.email,
            full_name=learner.full_name,
            external_id=learner.external_id,
            status=cast(wire.InvitationStatus, status),
            email_status=invitation.email_status,
            email_attempts=invitation.email_attempts,
            email_error=invitation.email_error,
            email_next_attempt_at=invitation.email_next_attempt_at,
            email_sent_at=invitation.email_sent_at,
            import_id=invitation.import_id,
            created_at=invitation.created_at,
            expires_at=invitation.expires_at,
        )
        for invitation, status, learner, program_name, contract_name in session.execute(query)
    ]


STREAM_BATCH = 20_000


def invitation_json(now: datetime, dialect: str) -> Select[Any]:
    """Each invitation as its wire.Invitation JSON text, written by the database itself
    (json_object, json_build_object): a million rows stream in seconds, with no Python object
    per field. Datetimes read as pydantic writes them: `2026-11-30T18:31:00Z`, microseconds
    when there are any."""
    postgres = dialect == "postgresql"

    def utc(column: Any) -> ColumnElement[Any]:
        text = (
            func.to_char(column, 'YYYY-MM-DD"T"HH24:MI:SS.US')
            if postgres  # SQLite holds the text SQLAlchemy wrote: 2026-11-30 18:31:00.000000
            else func.replace(column, " ", "T")
        )
        return func.replace(text, ".000000", "").op("||")("Z")

    fields: dict[str, Any] = {
        "id": Invitation.id,
        "program_id": Invitation.program_id,
        "program_name": shown_name(Program),
        "contract_id": Invitation.contract_id,
        "contract_name": shown_name(Contract),
        "learner_id": Invitation.learner_id,
        "email": Learner.email,
        "full_name": Learner.full_name,
        "external_id": Learner.external_id,
        "status": live_status(now),
        "email_status": Invitation.email_status,
        "email_attempts": Invitation.email_attempts,
        "email_error": Invitation.email_error,
        "email_next_attempt_at": utc(Invitation.email_next_attempt_at),
        "email_sent_at": utc(Invitation.email_sent_at),
        "import_id": Invitation.import_id,
        "created_at": utc(Invitation.created_at),
        "expires_at": utc(Invitation.expires_at),
    }
    if list(fields) != list(wire.Invitation.model_fields):
        raise AssertionError("the streamed fields must be wire.Invitation's, in its order")
    pairs = [part for name, value in fields.items() for part in (literal(name), value)]
    document = (
        sql_cast(func.json_build_object(*pairs), Text) if postgres else func.json_object(*pairs)
    )
    return (
        select(document.label("doc"), Invitation.id.label("id"))
        .join(Learner, Learner.id == Invitation.learner_id)
        .join(Program, Program.id == Invitation.program_id)
        .join(Contract, Contract.id == Invitation.contract_id)
    )


def invitation_lines(
    sessions: sessionmaker[Session], query: Select[Any], dialect: str
) -> Iterator[bytes]:
    """The JSON texts of `query` (`invitation_json` with its filter), a line each, in id order.

    A batch at a time, each batch one query (ids above the last one sent, through the
    (program_id, id) index) whose rows the database joins into one text: Python sees a few
    dozen strings for a million invitations, not a million rows.
    """
    last = 0
    while True:
        batch = (
            query.where(Invitation.id > last).order_by(Invitation.id).limit(STREAM_BATCH)
        ).subquery()
        if dialect == "postgresql":
            joined = func.string_agg(batch.c.doc, aggregate_order_by(literal("\n"), batch.c.id))
        else:  # SQLite joins the rows in the order the ordered subquery gives them
            joined = func.group_concat(batch.c.doc, "\n")
        with sessions() as session:
            text, top = session.execute(select(joined, func.max(batch.c.id))).one()
        if text is None:
            return
        yield (text + "\n").encode()
        last = top


def invitation_out(session: Session, invitation_id: int, now: datetime) -> wire.Invitation:
    (found,) = invitations_out(
        session, select_invitations(now).where(Invitation.id == invitation_id)
    )
    return found


def program_out(program: Program, counts: dict[tuple[int, str], int]) -> wire.Program:
    return wire.Program(
        id=program.id,
        name=program.name,
        description=program.description,
        learners=counts.get((program.id, "accepted"), 0),
        pending=counts.get((program.id, "pending"), 0),
        archived_at=program.archived_at,
    )


def learner_out(learner: Learner, programs: list[wire.LearnerProgram]) -> wire.Learner:
    return wire.Learner(
        id=learner.id,
        email=learner.email,
        full_name=learner.full_name,
        external_id=learner.external_id,
        created_at=learner.created_at,
        programs=programs,
    )
