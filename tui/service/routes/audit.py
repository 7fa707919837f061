"""The audit record, read: its entries, newest first, by filter and page; and its check.

Who reads what: owners and viewers read the whole record; a manager reads the entries of
the programs they act in (a manager named for no program acts in all, and reads all). The
check (`/audit/verify`) says whether the record is whole, to any admin: it tells only
sequence numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import aliased

from tui.service import audit
from tui.service.db import AuditEntry, Contract, Program
from tui.service.deps import CurrentAdmin, Limit, Offset, OptionalId, Search, SessionDep, owned
from tui.service.errors import ApiProblem
from tui.service.roles import in_scope, program_scope
from tui.text import fold
from tui.wire import models as wire

router = APIRouter(prefix="/audit", tags=["audit"])

When = Annotated[
    str | None,
    Query(
        max_length=40,
        description="A day (YYYY-MM-DD, UTC) or a moment (ISO 8601; without an offset, UTC).",
    ),
]


def _moment(name: str, text: str, *, end_of_day: bool) -> datetime:
    """`since`/`until` as the stored naive UTC: a day is its start (`until`: the next day's
    start, so the day is included); a moment with an offset is turned to UTC."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=1 if end_of_day else 0), time())
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):  # not a date, or past the calendar's ends
        raise ApiProblem(
            422,
            "Invalid filter",
            f"{name}={text!r} is not a date: give YYYY-MM-DD or an ISO 8601 moment.",
            code="invalid_filter",
        ) from None
    return moment


@router.get("", response_model_exclude_none=True, responses={422: {"model": wire.ProblemDetail}})
def list_entries(
    session: SessionDep,
    me: CurrentAdmin,
    since: When = None,
    until: When = None,
    actor: Annotated[str | None, Query(max_length=320, description="exact, any case")] = None,
    action: Annotated[str | None, Query(max_length=40)] = None,
    program_id: OptionalId = None,
    q: Search = "",
    offset: Offset = 0,
    limit: Limit = 50,
) -> wire.Page[wire.AuditEntry]:
    """The record's entries of the filter, newest first. `q` finds an actor or a learner."""
    where: list[Any] = [
        AuditEntry.organization_id == me.organization_id,
        in_scope(program_scope(session, me), AuditEntry.program_id),
    ]
    if since:
        where.append(AuditEntry.at >= _moment("since", since, end_of_day=False))
    if until:
        where.append(AuditEntry.at < _moment("until", until, end_of_day=True))
    if actor:
        where.append(func.lower(AuditEntry.actor) == actor.strip().lower())
    if action:
        if action not in audit.ACTIONS:
            raise ApiProblem(
                422,
                "Invalid filter",
                f"No action {action!r}; the record's actions are: {', '.join(audit.ACTIONS)}.",
                code="invalid_filter",
            )
        where.append(AuditEntry.action == action)
    if program_id is not None:
        owned(session, Program, program_id, me, "program")
        where.append(AuditEntry.program_id == program_id)
    if q:
        needle = fold(q)
        where.append(
            func.lower(AuditEntry.actor).contains(needle, autoescape=True)
            | func.lower(cast(AuditEntry.learners, String)).contains(needle, autoescape=True)
        )
    total = session.scalar(select(func.count(AuditEntry.id)).where(*where)) or 0
    program, contract = aliased(Program), aliased(Contract)
    rows = session.execute(
        select(AuditEntry, program.name, contract.name)
        .outerjoin(program, program.id == AuditEntry.program_id)
        .outerjoin(contract, contract.id == AuditEntry.contract_id)
        .where(*where)
        .order_by(AuditEntry.seq.desc())
        .offset(offset)
        .limit(limit)
    )
    items = [
        _entry_out(entry, program_name, contract_name)
        for entry, program_name, contract_name in rows
    ]
    return wire.Page[wire.AuditEntry](items=items, total=total, offset=offset, limit=limit)


def _entry_out(
    entry: AuditEntry, program_name: str | None, contract_name: str | None
) -> wire.AuditEntry:
    return wire.AuditEntry(
        seq=entry.seq,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        program_id=entry.program_id,
        program_name=program_name,
        contract_id=entry.contract_id,
        contract_name=contract_name,
        count=entry.count,
        learners=entry.learners,
        reason=entry.reason,
        details=entry.details,
    )


@router.get("/actions")
def actions(me: CurrentAdmin) -> list[str]:
    """Every action the record knows, as the `action` filter takes them."""
    return list(audit.ACTIONS)


@router.get("/verify")
def verify(session: SessionDep, me: CurrentAdmin) -> wire.AuditVerdict:
    """Walk the record's chain: whole, or the first entry changed or removed."""
    verdict = audit.verify(session, me.organization_id)
    return wire.AuditVerdict(
        whole=verdict.broken_at is None,
        checked=verdict.checked,
        broken_at=verdict.broken_at,
        problem=verdict.problem,
    )
