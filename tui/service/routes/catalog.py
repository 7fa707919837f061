"""Owners change contracts and programs: edit, archive and restore (`tui.service.catalog`).
Archived ones are listed with `?archived=true` on the programs' and contracts' lists; every
contract of the organization on `GET /contracts`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session

from tui.service import audit, catalog
from tui.service.admin import InvalidInput
from tui.service.db import Admin, Contract, ContractProgram, Program, utcnow
from tui.service.deps import CurrentAdmin, Id, OwnerAdmin, SessionDep, WriteSessionDep, owned
from tui.service.errors import ApiProblem
from tui.service.roles import in_scope, program_scope
from tui.service.routes.programs import Archived, is_archived, program_counts
from tui.service.serializers import contract_out, program_out
from tui.wire import models as wire

router = APIRouter(tags=["contracts and programs"])
REFUSALS: dict[int | str, dict[str, Any]] = {
    409: {"model": wire.ProblemDetail},
    422: {"model": wire.ProblemDetail},
}
# A rule broken by the organization's own data is a conflict; the rest is bad input.
_CONFLICTS = frozenset({"seats_in_use", "name_taken"})


@contextlib.contextmanager
def _refusals() -> Iterator[None]:
    """A change the rules refuse, as problem+json with its code; nothing was written."""
    try:
        yield
    except catalog.ChangeRefused as refused:
        status = 409 if refused.code in _CONFLICTS else 422
        title = "Conflict" if status == 409 else "Invalid request"
        raise ApiProblem(status, title, str(refused), code=refused.code) from None
    except InvalidInput as error:
        raise ApiProblem(422, "Invalid request", str(error), code="invalid_input") from None


@router.get("/contracts")
def list_organization_contracts(
    session: SessionDep, me: CurrentAdmin, archived: Archived = False
) -> wire.Page[wire.Contract]:
    """Every contract of the organization, by name; a manager's are those their programs use."""
    query = select(Contract).where(
        Contract.organization_id == me.organization_id, is_archived(Contract, archived)
    )
    scope = program_scope(session, me)
    if scope is not None:
        used = select(ContractProgram.contract_id).where(
            in_scope(scope, ContractProgram.program_id)
        )
        query = query.where(Contract.id.in_(used))
    now = utcnow()
    items = [
        contract_out(session, contract, None, now)
        for contract in session.scalars(query.order_by(Contract.name))
    ]
    return wire.Page[wire.Contract](items=items, total=len(items), limit=len(items) or 1)


@router.patch("/contracts/{contract_id}", responses=REFUSALS)
def edit_contract(
    contract_id: Id, body: wire.ContractChange, session: WriteSessionDep, me: OwnerAdmin
) -> wire.Contract:
    """Only the fields sent change: seats never below those in use, the dates in order, the
    name unique in the organization."""
    contract = owned(session, Contract, contract_id, me, "contract")
    given = body.model_fields_set
    if "name" in given and body.name is None:
        raise ApiProblem(422, "Invalid request", "A contract has a name.", code="invalid_input")
    with _refusals():
        catalog.edit_contract(
            session,
            contract,
            audit.Actor.admin(me),
            name=body.name if body.name is not None else catalog.UNCHANGED,
            seats=body.seats if "seats" in given else catalog.UNCHANGED,
            starts_on=body.starts_on if "starts_on" in given else catalog.UNCHANGED,
            ends_on=body.ends_on if "ends_on" in given else catalog.UNCHANGED,
        )
    session.commit()
    return contract_out(session, contract, None, utcnow())


@router.post("/contracts/{contract_id}/archive")
def archive_contract(contract_id: Id, session: WriteSessionDep, me: OwnerAdmin) -> wire.Contract:
    """Offered nowhere from now on; its invitations, imports and members stay."""
    return _set_contract_archived(session, me, contract_id, archived=True)


@router.post("/contracts/{contract_id}/restore")
def restore_contract(contract_id: Id, session: WriteSessionDep, me: OwnerAdmin) -> wire.Contract:
    return _set_contract_archived(session, me, contract_id, archived=False)


def _set_contract_archived(
    session: Session, me: Admin, contract_id: int, *, archived: bool
) -> wire.Contract:
    contract = owned(session, Contract, contract_id, me, "contract")
    catalog.set_archived(session, contract, audit.Actor.admin(me), archived)
    session.commit()
    return contract_out(session, contract, None, utcnow())


@router.patch("/programs/{program_id}", responses=REFUSALS)
def edit_program(
    program_id: Id, body: wire.ProgramChange, session: WriteSessionDep, me: OwnerAdmin
) -> wire.Program:
    """Only the fields sent change; the name stays unique in the organization."""
    program = owned(session, Program, program_id, me, "program")
    if "name" in body.model_fields_set and body.name is None:
        raise ApiProblem(422, "Invalid request", "A program has a name.", code="invalid_input")
    with _refusals():
        catalog.edit_program(
            session,
            program,
            audit.Actor.admin(me),
            name=body.name if body.name is not None else catalog.UNCHANGED,
            description=body.description if body.description is not None else catalog.UNCHANGED,
        )
    session.commit()
    return _program_out(session, program)


@router.post("/programs/{program_id}/archive")
def archive_program(program_id: Id, session: WriteSessionDep, me: OwnerAdmin) -> wire.Program:
    """Offered nowhere from now on; its invitations, imports and members stay."""
    return _set_program_archived(session, me, program_id, archived=True)


@router.post("/programs/{program_id}/restore")
def restore_program(program_id: Id, session: WriteSessionDep, me: OwnerAdmin) -> wire.Program:
    return _set_program_archived(session, me, program_id, archived=False)


def _set_program_archived(
    session: Session, me: Admin, program_id: int, *, archived: bool
) -> wire.Program:
    program = owned(session, Program, program_id, me, "program")
    catalog.set_archived(session, program, audit.Actor.admin(me), archived)
    session.commit()
    return _program_out(session, program)


def _program_out(session: Session, program: Program) -> wire.Program:
    return program_out(program, program_counts(session, [program.id], utcnow()))
