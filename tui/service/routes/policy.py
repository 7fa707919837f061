"""The organization's invitation policy: read by any admin, changed by an owner."""

from __future__ import annotations

from fastapi import APIRouter

from tui.service import audit
from tui.service.db import Organization
from tui.service.deps import CurrentAdmin, OwnerAdmin, SessionDep, WriteSessionDep
from tui.service.errors import ApiProblem
from tui.service.policy import Policy, PolicyRefused, check_policy, policy_of, set_policy
from tui.wire import models as wire

router = APIRouter(tags=["organization"])


def _out(policy: Policy) -> wire.InvitationPolicy:
    return wire.InvitationPolicy(**policy.as_dict())


@router.get("/organization/policy")
def get_policy(session: SessionDep, me: CurrentAdmin) -> wire.InvitationPolicy:
    return _out(policy_of(session.get_one(Organization, me.organization_id)))


@router.put("/organization/policy", responses={422: {"model": wire.ProblemDetail}})
def put_policy(
    body: wire.InvitationPolicy, session: WriteSessionDep, me: OwnerAdmin
) -> wire.InvitationPolicy:
    """The lifetime applies from the next invitation or resend; the reminder setting to every
    pending invitation. A change is recorded (policy.changed, old and new values)."""
    try:
        wanted = check_policy(body.invitation_lifetime_days, body.remind_after_days)
    except PolicyRefused as refusal:
        raise ApiProblem(422, "Invalid policy", str(refusal), "invalid_policy") from None
    organization = session.get_one(Organization, me.organization_id)
    _, after = set_policy(session, organization, wanted, audit.Actor.admin(me))
    session.commit()
    return _out(after)
