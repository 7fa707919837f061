"""The admin, the organization and its usage overview."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import ColumnElement, func, select

from tui.service.db import Contract, Invitation, Learner, Organization, Program, utcnow
from tui.service.deps import CurrentAdmin, SessionDep
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
        ),
    )


@router.get("/usage")
def get_usage(session: SessionDep, me: CurrentAdmin) -> wire.Usage:
    org, now = me.organization_id, utcnow()
    status = live_status(now)
    statuses: dict[str, int] = dict(
        session.execute(
            select(status, func.count()).where(Invitation.organization_id == org).group_by(status)
        ).all()
    )
    contracts = session.scalars(
        select(Contract)
        .where(Contract.organization_id == org, Contract.archived_at.is_(None))
        .order_by(Contract.name)
    )

    def count(model: type[Learner] | type[Program], *where: ColumnElement[bool]) -> int:
        return (
            session.scalar(
                select(func.count()).select_from(model).where(model.organization_id == org, *where)
            )
            or 0
        )

    return wire.Usage(
        learners=count(Learner),
        pending_invitations=statuses.get("pending", 0),
        accepted_invitations=statuses.get("accepted", 0),
        programs=count(Program, Program.archived_at.is_(None)),  # those offered
        contracts=[contract_out(session, contract, None, now) for contract in contracts],
    )
