"""Invitation statuses and seats as SQL: what is pending, what holds a seat, how many seats a
contract has used, and why a contract cannot take new invitations.

No polars here: listing programs and contracts reads these and nothing of the row checks.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from tui.service.db import Contract, ContractProgram, Invitation, Program, utcnow


# Expiry is a condition of every query, never a write a reader has to do first: a pending
# invitation past its expires_at is expired, holds no seat and does not make a learner
# "already invited", whether or not its stored status has caught up.
def is_pending(now: datetime) -> ColumnElement[bool]:
    return and_(Invitation.status == "pending", Invitation.expires_at > now)


def holds_seat(now: datetime) -> ColumnElement[bool]:
    return or_(Invitation.status == "accepted", is_pending(now))


def live_status(now: datetime) -> ColumnElement[Any]:
    """The invitation's status as of `now`: a stale pending one reads as expired."""
    return case(
        (and_(Invitation.status == "pending", Invitation.expires_at <= now), literal("expired")),
        else_=Invitation.status,
    )


def with_status(status: str, now: datetime) -> ColumnElement[bool]:
    """Invitations whose status as of `now` is `status`."""
    if status == "pending":
        return is_pending(now)
    if status == "expired":
        return or_(
            Invitation.status == "expired",
            and_(Invitation.status == "pending", Invitation.expires_at <= now),
        )
    return Invitation.status == status


def seats_used(session: Session, contract_id: int, now: datetime | None = None) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Invitation)
            .where(Invitation.contract_id == contract_id)
            .where(holds_seat(now or utcnow()))
        )
        or 0
    )


def contract_program_ids(session: Session, contract_id: int) -> list[int]:
    return list(
        session.scalars(
            select(ContractProgram.program_id).where(ContractProgram.contract_id == contract_id)
        )
    )


def unavailable_reason(
    contract: Contract, program_ids: list[int], used: int, program_id: int | None, today: date
) -> str | None:
    """Why the contract cannot take new invitations (for the program), or None."""
    if contract.archived_at is not None:
        return "is archived"
    if program_id is not None and program_id not in program_ids:
        return "does not cover this program"
    if contract.ends_on is not None and contract.ends_on < today:
        return f"expired on {contract.ends_on.isoformat()}"
    if contract.starts_on is not None and contract.starts_on > today:
        return f"starts on {contract.starts_on.isoformat()}"
    if contract.seats is not None and used >= contract.seats:
        taken = "its 1 seat is" if contract.seats == 1 else f"all {contract.seats:,} seats are"
        return f"full: {taken} taken"
    return None


def archived_refusal(program: Program | None, contract: Contract | None) -> str | None:
    """Why new invitations cannot go to this program under this contract because one is
    archived, or None."""
    for thing, kind in ((program, "program"), (contract, "contract")):
        if thing is not None and thing.archived_at is not None:
            return (
                f'The {kind} "{thing.name}" is archived: it takes no new invitations. '
                f"Choose another {kind}, or ask an owner to restore it."
            )
    return None
