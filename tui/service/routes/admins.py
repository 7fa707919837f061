"""The organization's admins, managed by its owners: add, change, remove, and new tokens; any
admin may list them, and give themselves a new token.

A token is answered once, when it is made; the service keeps only its hash (`db.hash_token`),
so a copy of the database opens nothing. A removed admin's row stays for the audit record;
their token opens nothing from the commit on, and so does a rotated one's old token.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tui.service import admin as operator
from tui.service import audit
from tui.service.db import Admin, AdminProgram, Organization, Program, utcnow
from tui.service.deps import CurrentAdmin, Id, OwnerAdmin, SessionDep, WriteSessionDep
from tui.service.errors import ApiProblem, not_found
from tui.wire import models as wire

router = APIRouter(tags=["admins"])
CONFLICT: dict[int | str, dict[str, object]] = {409: {"model": wire.ProblemDetail}}


def _programs_of(session: Session, admins: Sequence[Admin]) -> dict[int, list[int]]:
    """The programs named for each of these admins (managers only have any)."""
    named: dict[int, list[int]] = {}
    for admin_id, program_id in session.execute(
        select(AdminProgram.admin_id, AdminProgram.program_id)
        .where(AdminProgram.admin_id.in_([admin.id for admin in admins]))
        .order_by(AdminProgram.program_id)
    ):
        named.setdefault(admin_id, []).append(program_id)
    return named


def _record(admin: Admin, programs: dict[int, list[int]]) -> wire.AdminRecord:
    return wire.AdminRecord(
        id=admin.id,
        email=admin.email,
        role=admin.role,
        programs=programs.get(admin.id) if admin.role == "manager" else None,
        created_at=admin.created_at,
        token_rotated_at=admin.token_rotated_at,
    )


def _record_of(session: Session, admin: Admin) -> wire.AdminRecord:
    return _record(admin, _programs_of(session, [admin]))


def _locked_organization(session: Session, me: Admin) -> Organization:
    """The organization, locked until the commit: changes to its admins take turns, so two
    owners removing each other at once leave one of them."""
    return session.scalars(
        select(Organization).where(Organization.id == me.organization_id).with_for_update()
    ).one()


def _admin(session: Session, admin_id: int, me: Admin) -> Admin:
    """An admin of the organization who is not removed, or 404."""
    found = session.get(Admin, admin_id)
    if found is None or found.organization_id != me.organization_id or found.removed_at:
        raise not_found("admin")
    return found


def _programs(session: Session, me: Admin, ids: Sequence[int]) -> list[Program]:
    """The organization's programs with these ids; 422 naming those it does not have."""
    found = list(
        session.scalars(
            select(Program).where(
                Program.organization_id == me.organization_id, Program.id.in_(ids)
            )
        )
    )
    missing = sorted(set(ids) - {program.id for program in found})
    if missing:
        raise ApiProblem(
            422,
            "Invalid request",
            f"No program {', '.join(map(str, missing))} in this organization; "
            "`roster programs` lists them.",
            code="program_not_found",
        )
    return found


def _keep_an_owner(session: Session, admin: Admin, what: str) -> None:
    """409 if `admin` is the organization's last owner: someone must be able to manage it."""
    if admin.role != "owner":
        return
    owners = session.scalar(
        select(func.count())
        .select_from(Admin)
        .where(
            Admin.organization_id == admin.organization_id,
            Admin.role == "owner",
            Admin.removed_at.is_(None),
            Admin.id != admin.id,
        )
    )
    if not owners:
        raise ApiProblem(
            409,
            "Last owner",
            f"{admin.email} is the organization's last owner and cannot be {what}; "
            "add another owner first (roster admins add EMAIL --role owner).",
            code="last_owner",
        )


def _invalid(error: operator.InvalidInput) -> ApiProblem:
    return ApiProblem(422, "Invalid request", str(error), code="invalid_admin")


@router.get("/admins")
def list_admins(session: SessionDep, me: CurrentAdmin) -> wire.Page[wire.AdminRecord]:
    """The organization's admins (not those removed), oldest first: any admin may read it, to
    find an owner to ask; only owners change it."""
    admins = list(
        session.scalars(
            select(Admin)
            .where(Admin.organization_id == me.organization_id, Admin.removed_at.is_(None))
            .order_by(Admin.id)
        )
    )
    programs = _programs_of(session, admins)
    items = [_record(admin, programs) for admin in admins]
    return wire.Page[wire.AdminRecord](items=items, total=len(items), limit=len(items) or 1)


@router.post("/admins", status_code=201, responses=CONFLICT)
def add_admin(body: wire.AdminCreate, session: WriteSessionDep, me: OwnerAdmin) -> wire.AdminToken:
    """A new admin, and their token: answered this once."""
    organization = _locked_organization(session, me)
    if operator.active_admin(session, me.organization_id, body.email) is not None:
        raise ApiProblem(
            409,
            "Admin exists",
            f"{body.email.strip()} is already an admin; change their role with "
            "PATCH /admins/{id}, or give them a new token with POST /admins/{id}/token.",
            code="admin_exists",
        )
    programs = _programs(session, me, body.programs)
    try:
        admin, token = operator.create_admin(session, organization, body.email, body.role, programs)
    except operator.InvalidInput as error:
        raise _invalid(error) from None
    record = _record_of(session, admin)
    _recorded(session, me, "admin.added", admin, record)
    session.commit()
    return wire.AdminToken(admin=record, token=token)


@router.patch("/admins/{admin_id}", responses=CONFLICT)
def change_admin(
    admin_id: Id, body: wire.AdminChange, session: WriteSessionDep, me: OwnerAdmin
) -> wire.AdminRecord:
    """A new role or new programs (a manager's; an empty list: every program)."""
    _locked_organization(session, me)
    admin = _admin(session, admin_id, me)
    role = body.role or admin.role
    if role != "owner":
        _keep_an_owner(session, admin, f"made a {role}")
    if body.programs and role != "manager":
        raise _invalid(
            operator.InvalidInput(f"Only a manager is named for programs, not a {role}.")
        )
    programs = _programs(session, me, body.programs or [])
    admin.role = role
    if body.programs is not None or role != "manager":
        session.execute(delete(AdminProgram).where(AdminProgram.admin_id == admin.id))
        session.add_all(AdminProgram(admin_id=admin.id, program_id=p.id) for p in programs)
    session.flush()
    record = _record_of(session, admin)
    _recorded(session, me, "admin.changed", admin, record)
    session.commit()
    return record


@router.delete("/admins/{admin_id}", responses=CONFLICT)
def remove_admin(admin_id: Id, session: WriteSessionDep, me: OwnerAdmin) -> wire.AdminRecord:
    """Remove an admin: their token opens nothing from now on; their row stays for the
    record. The organization's last owner cannot be removed."""
    _locked_organization(session, me)
    admin = _admin(session, admin_id, me)
    _keep_an_owner(session, admin, "removed")
    admin.removed_at = utcnow()
    record = _record_of(session, admin)
    _recorded(session, me, "admin.removed", admin, record)
    session.commit()
    return record


def _rotate(session: Session, admin: Admin, me: Admin) -> wire.AdminToken:
    token = operator.rotate_token(admin)
    session.flush()
    record = _record_of(session, admin)
    _recorded(session, me, "admin.token_rotated", admin, record)
    session.commit()
    return wire.AdminToken(admin=record, token=token)


@router.post("/admins/{admin_id}/token")
def rotate_admin_token(admin_id: Id, session: WriteSessionDep, me: OwnerAdmin) -> wire.AdminToken:
    """A new token for an admin, answered once; their old token opens nothing from now on."""
    return _rotate(session, _admin(session, admin_id, me), me)


@router.post("/me/token")
def rotate_my_token(session: WriteSessionDep, me: CurrentAdmin) -> wire.AdminToken:
    """A new token for the admin who asks, whatever their role, answered once; the token this
    request was sent with opens nothing from now on."""
    admin = session.get_one(Admin, me.id)
    return _rotate(session, admin, admin)


def _recorded(
    session: Session, me: Admin, action: str, admin: Admin, record: wire.AdminRecord
) -> None:
    """The change to `admin`, on the record: who they are now (never their token)."""
    audit.record(
        session,
        me.organization_id,
        audit.Actor.admin(me),
        action,
        details={"email": admin.email, "role": admin.role, "programs": record.programs},
    )
