"""The Users page: the organization's learners and their programs."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import func, select

from tui.service.db import Invitation, Learner, Program, utcnow
from tui.service.deps import CurrentAdmin, Limit, Offset, OptionalId, Search, SessionDep, owned
from tui.service.roles import in_scope, program_scope
from tui.service.seats import live_status
from tui.service.serializers import learner_out, shown_name
from tui.text import fold
from tui.wire import models as wire

router = APIRouter(prefix="/learners", tags=["learners"])


@router.get("")
def list_learners(
    session: SessionDep,
    me: CurrentAdmin,
    q: Search = "",
    program_id: OptionalId = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> wire.Page[wire.Learner]:
    query = select(Learner).where(Learner.organization_id == me.organization_id)
    scope = program_scope(session, me)
    if scope is not None:  # a manager sees the learners of their programs
        query = query.where(
            Learner.id.in_(
                select(Invitation.learner_id).where(in_scope(scope, Invitation.program_id))
            )
        )
    if q:  # accents and case aside: "elodie" finds Élodie
        query = query.where(Learner.search_key.contains(fold(q), autoescape=True))
    if program_id is not None:
        owned(session, Program, program_id, me, "program")
        query = query.where(
            Learner.id.in_(select(Invitation.learner_id).where(Invitation.program_id == program_id))
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    learners = list(session.scalars(query.order_by(Learner.full_name).offset(offset).limit(limit)))
    programs: dict[int, list[wire.LearnerProgram]] = {}
    for learner_id, program_id_, name, status in session.execute(
        select(
            Invitation.learner_id,
            Invitation.program_id,
            shown_name(Program),
            live_status(utcnow()),
        )
        .join(Program, Program.id == Invitation.program_id)
        .where(Invitation.learner_id.in_([learner.id for learner in learners]))
        .where(in_scope(scope, Invitation.program_id))
        .order_by(Invitation.id)
    ):
        programs.setdefault(learner_id, []).append(
            wire.LearnerProgram.model_validate(
                {"program_id": program_id_, "program_name": name, "status": status}
            )
        )
    items = [learner_out(learner, programs.get(learner.id, [])) for learner in learners]
    return wire.Page[wire.Learner](items=items, total=total, offset=offset, limit=limit)
