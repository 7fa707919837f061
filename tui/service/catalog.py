"""Contracts and programs change: a contract's name, seats and dates, a program's name and
description, and archiving and restoring either. The owners' API and the operators' `roster
admin` commands both make their changes here, under the same rules, each written to the audit
record at the end of the caller's transaction.

An archived contract or program is offered nowhere (lists, pickers, imports, dry runs, single
invitations) and keeps its history: its invitations, imports and members stay, and its pending
invitations can still be accepted. Archiving stops new invitations; restoring brings it back.
"""

from __future__ import annotations

import re
from datetime import date
from enum import Enum
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from tui.service import audit
from tui.service.admin import InvalidInput, NotFoundError, checked_name
from tui.service.db import Contract, Program, utcnow
from tui.service.seats import seats_used
from tui.text import plural

MAX_DESCRIPTION: Final = 2000
# Line breaks and tabs may stand in a description; no other control character may.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
Changes = dict[str, list[Any]]  # a field's [old, new], as the audit entry keeps them


class Unchanged(Enum):
    """A field the caller leaves as it is (None means "none": unlimited seats, no date)."""

    UNCHANGED = "unchanged"


UNCHANGED: Final = Unchanged.UNCHANGED


class ChangeRefused(InvalidInput):
    """A change that would break a rule of the contract or program; nothing was written. The
    `code` says which rule, the message how to fix it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


ARCHIVED_SUFFIX: Final = " (archived)"


def archived_name(name: str, archived: bool) -> str:
    """How listings of history (invitations, imports, a learner's programs) name an archived
    program or contract."""
    return name + ARCHIVED_SUFFIX if archived else name


def find_contract(session: Session, organization_id: int, name_or_id: str) -> Contract:
    """The organization's contract of this id or exact name, archived ones included."""
    query = select(Contract).where(Contract.organization_id == organization_id)
    query = query.where(
        Contract.id == int(name_or_id) if name_or_id.isdigit() else Contract.name == name_or_id
    )
    found = session.scalars(query).first()
    if found is None:
        raise NotFoundError(f"No contract {name_or_id!r} in this organization.")
    return found


def edit_contract(
    session: Session,
    contract: Contract,
    actor: audit.Actor,
    *,
    name: str | Unchanged = UNCHANGED,
    seats: int | Unchanged | None = UNCHANGED,
    starts_on: date | Unchanged | None = UNCHANGED,
    ends_on: date | Unchanged | None = UNCHANGED,
) -> Changes:
    """Change what is given; the fields that changed, as {field: [old, new]}. Refused, with
    nothing written, for fewer seats than are in use, dates out of order or a name another
    contract of the organization has."""
    # Locked first (PostgreSQL; SQLite's write transaction holds its one lock): no invitation
    # can take a seat between the count and the change.
    session.refresh(contract, with_for_update=True)
    changes: Changes = {}
    if not isinstance(name, Unchanged):
        name = checked_name("contract", name)
        _refuse_taken_name(session, Contract, contract, name, "contract")
        _note(changes, "name", contract.name, name)
        contract.name = name
    if not isinstance(seats, Unchanged):
        _check_seats(session, contract, seats)
        _note(changes, "seats", contract.seats, seats)
        contract.seats = seats
    old_start, old_end = contract.starts_on, contract.ends_on
    new_start = old_start if isinstance(starts_on, Unchanged) else starts_on
    new_end = old_end if isinstance(ends_on, Unchanged) else ends_on
    _check_dates(new_start, new_end, starts_on, ends_on)
    _note(changes, "starts_on", _day(old_start), _day(new_start))
    _note(changes, "ends_on", _day(old_end), _day(new_end))
    contract.starts_on, contract.ends_on = new_start, new_end
    if changes:
        session.flush()
        audit.record(
            session,
            contract.organization_id,
            actor,
            "contract.edited",
            contract_id=contract.id,
            details=changes,
        )
    return changes


def edit_program(
    session: Session,
    program: Program,
    actor: audit.Actor,
    *,
    name: str | Unchanged = UNCHANGED,
    description: str | Unchanged = UNCHANGED,
) -> Changes:
    """Change the program's name (unique in the organization) or description; the fields that
    changed, as {field: [old, new]}."""
    changes: Changes = {}
    if not isinstance(name, Unchanged):
        name = checked_name("program", name)
        _refuse_taken_name(session, Program, program, name, "program")
        _note(changes, "name", program.name, name)
        program.name = name
    if not isinstance(description, Unchanged):
        description = description.strip()
        if len(description) > MAX_DESCRIPTION:
            raise InvalidInput(
                f"The description has {len(description):,} characters; at most {MAX_DESCRIPTION:,}."
            )
        if _CONTROL.search(description):
            raise InvalidInput("The description holds a control character; write it as plain text.")
        _note(changes, "description", program.description, description)
        program.description = description
    if changes:
        session.flush()
        audit.record(
            session,
            program.organization_id,
            actor,
            "program.edited",
            program_id=program.id,
            details=changes,
        )
    return changes


def set_archived(
    session: Session, thing: Contract | Program, actor: audit.Actor, archived: bool
) -> bool:
    """Archive (or restore) the contract or program; False if it already was, and then
    nothing is written."""
    if (thing.archived_at is not None) == archived:
        return False
    thing.archived_at = utcnow() if archived else None
    session.flush()
    kind = "contract" if isinstance(thing, Contract) else "program"
    audit.record(
        session,
        thing.organization_id,
        actor,
        f"{kind}.{'archived' if archived else 'restored'}",
        contract_id=thing.id if isinstance(thing, Contract) else None,
        program_id=thing.id if isinstance(thing, Program) else None,
        details={"name": thing.name},
    )
    return True


def _refuse_taken_name(
    session: Session,
    model: type[Contract] | type[Program],
    thing: Contract | Program,
    name: str,
    kind: str,
) -> None:
    other = session.scalar(
        select(model.id).where(
            model.organization_id == thing.organization_id,
            model.name == name,
            model.id != thing.id,
        )
    )
    if other is not None:
        raise ChangeRefused(
            "name_taken",
            f'Another {kind} of the organization is named "{name}" (id {other}), archived ones '
            "included; choose another name.",
        )


def _check_seats(session: Session, contract: Contract, seats: int | None) -> None:
    if seats is None:
        return
    if seats < 1:
        raise InvalidInput(f"{seats} seats: a contract has at least 1 seat, or unlimited seats.")
    used = seats_used(session, contract.id)
    if seats < used:
        raise ChangeRefused(
            "seats_in_use",
            f"{contract.name} has {plural(used, 'seat')} in use; at least {used:,}. Members "
            "removed and invitations revoked or expired free their seats.",
        )


def _check_dates(
    starts: date | None,
    ends: date | None,
    starts_given: date | Unchanged | None,
    ends_given: date | Unchanged | None,
) -> None:
    """Refuse an end before the start, naming the date that was given as the wrong one."""
    if starts is None or ends is None or starts <= ends:
        return
    if isinstance(ends_given, Unchanged):
        message = (
            f"The new start, {starts.isoformat()}, is after the contract ends on "
            f"{ends.isoformat()}: start on or before its end, or change the end too."
        )
    elif isinstance(starts_given, Unchanged):
        message = (
            f"The new end, {ends.isoformat()}, is before the contract starts on "
            f"{starts.isoformat()}: end on or after its start, or change the start too."
        )
    else:
        message = (
            f"The contract would end on {ends.isoformat()}, before it starts on "
            f"{starts.isoformat()}: check the dates."
        )
    raise ChangeRefused("dates_out_of_order", message)


def _note(changes: Changes, field: str, old: Any, new: Any) -> None:
    if old != new:
        changes[field] = [old, new]


def _day(day: date | None) -> str | None:
    return day.isoformat() if day else None
