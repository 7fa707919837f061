"""A program's members: the learners whose invitation to it was accepted; listed, searched and
removed.

Removing a member ends the membership and keeps its history: the accepted invitation becomes
"removed", with when and why, and its seat is free from that moment (seats count accepted and
live pending invitations only: tui.service.seats). The learner stays, and may be invited again
as after a revoke: the checks know only accepted and pending invitations.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, Row, Select, func, select, update
from sqlalchemy.orm import Session

from tui.intake.report import Problem
from tui.service import audit
from tui.service.db import Contract, Invitation, Learner, Program
from tui.service.errors import ApiProblem
from tui.service.seats import is_pending
from tui.text import fold
from tui.wire import models as wire

# Ids and emails go to the database this many at a time: within every database's limit on a
# statement's parameters.
_IN_CHUNK: Final = 5_000
# The members a refused revoke names one by one; beyond, it counts them.
_NAMED_IN_REFUSAL: Final = 100


def member_filters(program_id: int, q: str = "") -> list[ColumnElement[bool]]:
    """The conditions of the program's members matching the search `q` (names, emails and
    External IDs, accents and case ignored, as on Users and Invitations); the query joins
    learners."""
    where = [Invitation.program_id == program_id, Invitation.status == "accepted"]
    if q:
        where.append(Learner.search_key.contains(fold(q), autoescape=True))
    return where


def list_members(
    session: Session, program_id: int, q: str, offset: int, limit: int
) -> wire.MemberPage:
    """A page of the program's members, in the order they were invited, with the total."""
    where = member_filters(program_id, q)
    counted = select(func.count(Invitation.id)).where(*where)
    if q:
        counted = counted.join(Learner, Learner.id == Invitation.learner_id)
    total = session.scalar(counted) or 0
    rows = session.execute(
        select(
            Invitation.id,
            Invitation.learner_id,
            Learner.email,
            Learner.full_name,
            Learner.external_id,
            Invitation.contract_id,
            Contract.name,
            Invitation.created_at,
            Invitation.accepted_at,
        )
        .join(Learner, Learner.id == Invitation.learner_id)
        .join(Contract, Contract.id == Invitation.contract_id)
        .where(*where)
        .order_by(Invitation.id)
        .offset(offset)
        .limit(limit)
    )
    items = [
        wire.Member(
            invitation_id=row[0],
            learner_id=row[1],
            email=row[2],
            full_name=row[3],
            external_id=row[4],
            contract_id=row[5],
            contract_name=row[6],
            invited_at=row[7],
            accepted_at=row[8],
        )
        for row in rows
    ]
    return wire.MemberPage(items=items, total=total, offset=offset, limit=limit)


def remove_members(
    session: Session,
    program: Program,
    chosen: wire.MemberSelection,
    actor: audit.Actor,
    now: datetime,
) -> wire.MemberRemoval:
    """Remove the members `chosen` names from `program`, in the caller's write transaction,
    with one audit entry for them; what was removed, and why each name was not a member.

    The members' invitations are locked before they change (on PostgreSQL; SQLite's write
    transaction holds the database): a member removed meanwhile by another admin is not
    counted twice, and a concurrent invite, which counts seats under its contract's lock,
    sees the seat either held or free, never both."""
    members: Sequence[Row[int, int, str]]
    not_members: list[wire.NotMember] = []
    last_id = None
    if chosen.all_matching:
        query = _members(program.id, chosen.q).order_by(Invitation.id)
        if chosen.after_id is not None:
            query = query.where(Invitation.id > chosen.after_id)
        if chosen.limit is not None:
            query = query.limit(chosen.limit)
        members = session.execute(query.with_for_update(of=Invitation)).all()
        matched = len(members)
        if chosen.limit is not None and members:
            last_id = members[-1][0]
    else:
        named, not_members = _named_learners(session, program.organization_id, chosen)
        matched = len(named) + len(not_members)
        members = []
        for part in _chunks(sorted(named)):
            # Locked in id order, as the keyset batches lock: two removals naming the same
            # members wait for one another instead of deadlocking.
            query = _members(program.id).where(Invitation.learner_id.in_(part))
            query = query.order_by(Invitation.id).with_for_update(of=Invitation)
            members += session.execute(query).all()
        left = set(named) - {learner_id for _, learner_id, _ in members}
        not_members += _why_not_members(session, program, {id_: named[id_] for id_ in left}, now)
    for part in _chunks([invitation_id for invitation_id, _, _ in members]):
        session.execute(
            update(Invitation)
            .where(Invitation.id.in_(part))
            .values(status="removed", removed_at=now, removed_reason=chosen.reason)
            .execution_options(synchronize_session=False)
        )
    if members:
        audit.record(
            session,
            program.organization_id,
            actor,
            "member.removed",
            program_id=program.id,
            count=len(members),
            learners=sorted({email for _, _, email in members}),
            reason=chosen.reason,
            details={"search": chosen.q} if chosen.all_matching else None,
            at=now,
        )
    return wire.MemberRemoval(
        matched=matched, removed=len(members), not_members=not_members, last_id=last_id
    )


def _members(program_id: int, q: str = "") -> Select[int, int, str]:
    """The program's members matching `q`: (invitation id, learner id, email)."""
    return (
        select(Invitation.id, Invitation.learner_id, Learner.email)
        .join(Learner, Learner.id == Invitation.learner_id)
        .where(*member_filters(program_id, q))
    )


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


def _named_learners(
    session: Session, organization_id: int, chosen: wire.MemberSelection
) -> tuple[dict[int, str], list[wire.NotMember]]:
    """The organization's learners the selection names (id -> the name as given, an email or
    an id), once each; and the names that are no learner of it."""
    found: dict[int, str] = {}
    unknown: list[wire.NotMember] = []
    if chosen.learner_ids is not None:
        ids = list(dict.fromkeys(chosen.learner_ids))
        for part in _chunks(ids):
            for id_, email in session.execute(
                select(Learner.id, Learner.email).where(
                    Learner.organization_id == organization_id, Learner.id.in_(part)
                )
            ):
                found[id_] = email
        unknown += [
            wire.NotMember(
                email=str(id_), code="unknown_learner", message=f"No learner has the id {id_}."
            )
            for id_ in ids
            if id_ not in found
        ]
        return found, unknown
    keys: dict[str, str] = {}  # email key -> the email as given, first spelling kept
    for email, (key, reason) in zip(
        chosen.emails or [], _email_keys(chosen.emails or []), strict=True
    ):
        if key is None:
            unknown.append(
                wire.NotMember(
                    email=email, code="invalid_email", message=f"Not an email address: {reason}"
                )
            )
        else:
            keys.setdefault(key, email.strip())
    for part in _chunks(list(keys)):
        for id_, key in session.execute(
            select(Learner.id, Learner.email_key).where(
                Learner.organization_id == organization_id, Learner.email_key.in_(part)
            )
        ):
            found[id_] = keys.pop(key)
    unknown += [
        wire.NotMember(
            email=email, code="unknown_learner", message="No learner of the organization."
        )
        for email in keys.values()
    ]
    return found, unknown


def _email_keys(emails: list[str]) -> list[tuple[str | None, str | None]]:
    """(the key learners are stored under, None) for each email, or (None, why it is not an
    email): email-validator's normalized form, lowercased, as an import stores it."""
    from tui.intake.emails import validate_with_library

    return [
        (normalized.lower() if normalized else None, reason)
        for normalized, reason in validate_with_library([email.strip() for email in emails])
    ]


def _why_not_members(
    session: Session, program: Program, learners: dict[int, str], now: datetime
) -> list[wire.NotMember]:
    """Why each of these learners is not a member of the program: invited and not yet
    accepted, removed already, or neither (never invited, or the invitation revoked or
    expired)."""
    pending: set[int] = set()
    removed: set[int] = set()
    for part in _chunks(list(learners)):
        in_program = (Invitation.program_id == program.id, Invitation.learner_id.in_(part))
        pending.update(
            session.scalars(select(Invitation.learner_id).where(*in_program, is_pending(now)))
        )
        removed.update(
            session.scalars(
                select(Invitation.learner_id).where(*in_program, Invitation.status == "removed")
            )
        )
    reasons: list[wire.NotMember] = []
    for learner_id, name in learners.items():
        if learner_id in pending:
            why = wire.NotMember(
                email=name,
                code="pending",
                message=f"Invited to {program.name}, not accepted yet: revoke the invitation "
                "instead (roster invitations revoke ID).",
            )
        elif learner_id in removed:
            why = wire.NotMember(
                email=name, code="removed", message=f"Removed from {program.name} already."
            )
        else:
            why = wire.NotMember(
                email=name, code="not_member", message=f"Not a member of {program.name}."
            )
        reasons.append(why)
    return reasons


def remove_command(program: Program, emails: Sequence[str]) -> str:
    """The command that removes these members, ready to paste."""
    named = " ".join(shlex.quote(email) for email in emails) or "EMAIL"
    return f"roster members remove --program {shlex.quote(program.name)} {named}"


def refuse_revoking_members(session: Session, selected: Select[Any] | Sequence[int]) -> None:
    """Refuse (409 `is_member`) a revoke naming accepted invitations: their learners are
    members, and membership ends by removing the member, which says so in the record. Nothing
    is revoked."""
    ids = selected if isinstance(selected, Select) else list(selected)
    members = session.execute(
        select(Learner.email, Program)
        .select_from(Invitation)
        .join(Learner, Learner.id == Invitation.learner_id)
        .join(Program, Program.id == Invitation.program_id)
        .where(Invitation.id.in_(ids), Invitation.status == "accepted")
        .order_by(Invitation.id)
        .limit(_NAMED_IN_REFUSAL + 1)
    ).all()
    if not members:
        return
    named = members[:_NAMED_IN_REFUSAL]
    email, program = named[0]
    if len(members) == 1:
        detail = (
            f"{email} accepted the invitation and is a member of {program.name}: an accepted "
            "invitation cannot be revoked, and nothing was revoked. Remove the member instead: "
            f"{remove_command(program, [email])} (in the app: Learning programs, m)."
        )
    else:
        more = "more than " if len(members) > _NAMED_IN_REFUSAL else ""
        detail = (
            f"{more}{len(named):,} of these invitations were accepted: their learners "
            f"are members (first: {email} of {program.name}). An accepted invitation cannot be "
            "revoked, and nothing was revoked. Leave them out, or remove the members instead: "
            f"{remove_command(program, [email])} (in the app: Learning programs, m)."
        )
    raise ApiProblem(
        409,
        "Cannot revoke",
        detail,
        "is_member",
        [
            Problem(
                code="is_member",
                message=f"{email} is a member of {program.name}: "
                f"{remove_command(program, [email])}",
            )
            for email, program in named
        ],
    )
