"""What each admin role may do, as the routes enforce it.

- owner: everything, admins and the organization's policy included;
- manager: invites and acts on invitations and members, in the programs named for them
  (`AdminProgram`), or in every program when none is named;
- viewer: reads only.

A program outside a manager's programs does not exist for them (404, as another
organization's); a write the role may not make is 403 with the code `forbidden_role`.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from tui.service.db import Admin, AdminProgram
from tui.service.errors import ApiProblem
from tui.wire.models import AdminRole

ROLES: Final[tuple[AdminRole, ...]] = ("owner", "manager", "viewer")
WRITERS: Final[frozenset[str]] = frozenset({"owner", "manager"})


def program_scope(session: Session, admin: Admin) -> list[int] | None:
    """The program ids a manager acts in; None: every program (an owner, a viewer, or a
    manager named for no program)."""
    if admin.role != "manager":
        return None
    ids = list(
        session.scalars(select(AdminProgram.program_id).where(AdminProgram.admin_id == admin.id))
    )
    return ids or None


def in_scope(scope: list[int] | None, program_id: Any) -> ColumnElement[bool]:
    """A query's condition: the program column `program_id` is one the admin may see."""
    if scope is None:
        return true()
    return program_id.in_(scope)  # type: ignore[no-any-return]


def forbidden(role: str, what: str) -> ApiProblem:
    return ApiProblem(
        403,
        "Forbidden",
        f"A {role} cannot {what}; ask an owner of the organization (`roster admins` lists them).",
        code="forbidden_role",
    )


def require_writer(admin: Admin, what: str = "change anything") -> None:
    if admin.role not in WRITERS:
        raise forbidden(admin.role, what)


def require_owner(admin: Admin, what: str) -> None:
    if admin.role != "owner":
        raise forbidden(admin.role, what)
