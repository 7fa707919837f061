"""The admin, the organization and its usage overview."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import func, select

from tui.service.db import (
    Contract,
    ContractProgram,
    Invitation,
    Learner,
    Organization,
    Program,
    utcnow,
)
from tui.service.deps import CurrentAdmin, SessionDep
from tui.service.roles import in_scope, program_scope
from tui.service.seats import live_status
from tui.service.serializers import contract_out
from tui.wire import models as wire

router = APIRouter(tags=["organization"])


@router.get("/me")
def get_me(session: SessionDep, me: CurrentAdmin) -> wire.Me:
    organization = session.get_one(Organization, me.organization_id)
    return wire.Me(
        admin_email=me.email,
        organization=wire.Organization(
            id=organization.id,
            name=organization.name,
            is_demo=organization.is_demo,
            sender_name=organization.sender_name,
            invitation_lifetime_days=organization.invitation_lifetime_days,
            remind_after_days=organization.remind_after_days,
        ),
        role=me.role,
        programs=program_scope(session, me),
    )


@router.get("/usage")
def get_usage(session: SessionDep, me: CurrentAdmin) -> wire.Usage:
    """The organization's numbers; a manager's are those of their programs."""
    org, now = me.organization_id, utcnow()
    scope = program_scope(session, me)
    status = live_status(now)
    statuses: dict[str, int] = dict(
        session.execute(
            select(status, func.count())
            .where(Invitation.organization_id == org, in_scope(scope, Invitation.program_id))
            .group_by(status)
        ).all()
    )
    contracts = select(Contract).where(
        Contract.organization_id == org, Contract.archived_at.is_(None)
    )
    if scope is not None:  # a manager's: those their programs use
        used = select(ContractProgram.contract_id).where(
            in_scope(scope, ContractProgram.program_id)
        )
        contracts = contracts.where(Contract.id.in_(used))
    learners = select(func.count()).select_from(Learner).where(Learner.organization_id == org)
    if scope is not None:
        learners = learners.where(
            Learner.id.in_(
                select(Invitation.learner_id).where(in_scope(scope, Invitation.program_id))
            )
        )
    programs = select(func.count()).select_from(Program).where(Program.organization_id == org)
    return wire.Usage(
        learners=session.scalar(learners) or 0,
        pending_invitations=statuses.get("pending", 0),
        accepted_invitations=statuses.get("accepted", 0),
        programs=session.scalar(
            programs.where(in_scope(scope, Program.id), Program.archived_at.is_(None))
        )
        or 0,  # those offered
        contracts=[
            contract_out(session, contract, None, now)
            for contract in session.scalars(contracts.order_by(Contract.name))
        ],
    )
