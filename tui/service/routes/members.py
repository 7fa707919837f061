"""Members: a program's accepted learners, listed and searched, and removed."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.orm import Session

from tui.service import audit, members, roles
from tui.service.db import Admin, Program, utcnow
from tui.service.deps import (
    CurrentAdmin,
    Id,
    Limit,
    Offset,
    Search,
    SessionDep,
    WriterAdmin,
    WriteSessionDep,
    owned,
)
from tui.service.errors import not_found
from tui.wire import models as wire

router = APIRouter(prefix="/programs/{program_id}/members", tags=["members"])


def _program(session: Session, program_id: int, me: Admin) -> Program:
    """The admin's program, or 404: another organization's, and one outside a manager's
    programs, do not exist for them."""
    program = owned(session, Program, program_id, me, "program")
    scope = roles.program_scope(session, me)
    if scope is not None and program.id not in scope:
        raise not_found("program")
    return program


@router.get("")
def list_members(
    program_id: Id,
    session: SessionDep,
    me: CurrentAdmin,
    q: Search = "",
    offset: Offset = 0,
    limit: Limit = 50,
) -> wire.MemberPage:
    """A page of the program's members (learners whose invitation was accepted), searched by
    name, email and External ID, with the total."""
    program = _program(session, program_id, me)
    return members.list_members(session, program.id, q, offset, limit)


@router.post("/remove", response_model_exclude_none=True)
def remove_members(
    program_id: Id, body: wire.MemberSelection, session: WriteSessionDep, me: WriterAdmin
) -> wire.MemberRemoval:
    """End these members' membership: their invitations become removed (with when and the
    reason), their seats are free at once, and one audit entry names them. Emails or learner
    ids that are not members are answered with why; a large filter goes a batch at a time
    (`limit`, then `after_id`)."""
    program = _program(session, program_id, me)
    removal = members.remove_members(session, program, body, audit.Actor.admin(me), utcnow())
    session.commit()
    return removal
