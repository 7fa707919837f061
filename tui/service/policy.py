"""An organization's invitation policy: how long its invitations live, and whether a still
pending one is reminded once, after how many days.

The lifetime counts from when the invitation is made (a resend renews it); the reminder from
its last email sent, once per invitation, by whatever sends mail (tui.service.reminders).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from tui.service import audit
from tui.service.db import Organization
from tui.text import plural

# A day at least (a shorter life would expire most invitations before they are read); a year
# at most (an invitation older than that names a seat nobody remembers offering).
MIN_LIFETIME_DAYS: Final = 1
MAX_LIFETIME_DAYS: Final = 365
DEFAULT_LIFETIME_DAYS: Final = 30


class PolicyRefused(ValueError):
    """A policy that cannot be kept; the message says why and how to fix it."""


@dataclass(frozen=True, slots=True)
class Policy:
    invitation_lifetime_days: int
    remind_after_days: int | None  # None: no automatic reminder

    def as_dict(self) -> dict[str, Any]:
        return {
            "invitation_lifetime_days": self.invitation_lifetime_days,
            "remind_after_days": self.remind_after_days,
        }


def check_policy(lifetime_days: int, remind_after_days: int | None) -> Policy:
    """The policy, if it can be kept: a lifetime within the bounds, and a reminder (if any)
    at least a day after the email and before the invitation expires."""
    if not MIN_LIFETIME_DAYS <= lifetime_days <= MAX_LIFETIME_DAYS:
        raise PolicyRefused(
            f"An invitation lifetime of {plural(lifetime_days, 'day')} is out of bounds: give "
            f"{MIN_LIFETIME_DAYS} to {MAX_LIFETIME_DAYS} days."
        )
    if remind_after_days is not None:
        if remind_after_days < 1:
            raise PolicyRefused(
                f"A reminder after {plural(remind_after_days, 'day')} is too early: give 1 day "
                "or more, "
                "or no automatic reminder."
            )
        if remind_after_days >= lifetime_days:
            fix = (
                f"remind after 1 to {plural(lifetime_days - 1, 'day')}, give a longer lifetime"
                if lifetime_days > 1
                else "give a longer lifetime"
            )
            raise PolicyRefused(
                "The reminder must come before the invitation expires: a reminder after "
                f"{plural(remind_after_days, 'day')} is not less than the lifetime of "
                f"{plural(lifetime_days, 'day')}. {fix[0].upper()}{fix[1:]}, or turn the "
                "automatic reminder off."
            )
    return Policy(lifetime_days, remind_after_days)


def policy_of(organization: Organization) -> Policy:
    return Policy(organization.invitation_lifetime_days, organization.remind_after_days)


def invitation_lifetime(session: Session, organization_id: int) -> timedelta:
    """How long the organization's new or renewed invitations live."""
    days = session.scalar(
        select(Organization.invitation_lifetime_days).where(Organization.id == organization_id)
    )
    return timedelta(days=days or DEFAULT_LIFETIME_DAYS)


def set_policy(
    session: Session, organization: Organization, wanted: Policy, actor: audit.Actor
) -> tuple[Policy, Policy]:
    """Give the organization the policy `wanted` (checked with `check_policy`); the policy
    before and after. A change is recorded (policy.changed, the old and new values), at the
    end of the caller's transaction; the same policy again changes and records nothing.

    Invitations already made keep their expiry: the new lifetime applies from the next
    invitation, resend or renewal; the reminder setting applies to every pending invitation.
    """
    before = policy_of(organization)
    if wanted == before:
        return before, before
    organization.invitation_lifetime_days = wanted.invitation_lifetime_days
    organization.remind_after_days = wanted.remind_after_days
    audit.record(
        session,
        organization.id,
        actor,
        "policy.changed",
        details={"old": before.as_dict(), "new": wanted.as_dict()},
    )
    return before, wanted
