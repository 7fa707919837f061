"""Operator actions on the database (`roster admin ...`) and the demo organization's seed."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tui.service.db import (
    Admin,
    AdminProgram,
    Contract,
    ContractProgram,
    Invitation,
    Organization,
    Program,
    hash_token,
    utcnow,
)
from tui.wire.models import AdminRole, RowBatch

DEMO_ORGANIZATION = "Demo Organization (sample data)"
DEMO_ADMIN = "admin@demo.roster.invalid"


class NotFoundError(LookupError):
    pass


class InvalidInput(ValueError):
    """Operator input that must not reach the database; the message says how to fix it."""


MAX_NAME = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def checked_name(kind: str, name: str) -> str:
    """A name as stored: trimmed, non-empty, at most 200 characters, on one line."""
    name = name.strip()
    if not name:
        raise InvalidInput(f"The {kind} name is empty; give it a name.")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"The {kind} name has {len(name)} characters; at most {MAX_NAME}.")
    if _CONTROL.search(name):
        raise InvalidInput(
            f"The {kind} name {name[:80]!r} holds a line break or another control character; "
            "write it on one line."
        )
    return name


def new_token() -> str:
    return "rst_" + secrets.token_urlsafe(32)


def find_organization(session: Session, name_or_id: str) -> Organization:
    query = select(Organization)
    query = query.where(
        Organization.id == int(name_or_id)
        if name_or_id.isdigit()
        else Organization.name == name_or_id
    )
    found = session.scalars(query).first()
    if found is None:
        raise NotFoundError(f"No organization {name_or_id!r}.")
    return found


def find_program(session: Session, organization_id: int, name_or_id: str) -> Program:
    query = select(Program).where(Program.organization_id == organization_id)
    query = query.where(
        Program.id == int(name_or_id) if name_or_id.isdigit() else Program.name == name_or_id
    )
    found = session.scalars(query).first()
    if found is None:
        raise NotFoundError(f"No program {name_or_id!r} in this organization.")
    return found


def set_sender_name(organization: Organization, name: str) -> None:
    """Who the organization's invitation emails come from; blank: the mail_from setting's
    name again."""
    organization.sender_name = checked_name("sender", name) if name.strip() else None


def create_organization(session: Session, name: str, *, is_demo: bool = False) -> Organization:
    organization = Organization(name=checked_name("organization", name), is_demo=is_demo)
    session.add(organization)
    session.flush()
    return organization


def create_admin(
    session: Session,
    organization: Organization,
    email: str,
    role: AdminRole = "owner",
    programs: Sequence[Program] = (),
) -> tuple[Admin, str]:
    """A new admin and their token; only the token's hash is stored. `programs`: a manager's
    (none: every program)."""
    email = email.strip()
    if "@" not in email or len(email) > 320 or _CONTROL.search(email):
        raise InvalidInput(f"{email[:80]!r} is not an email address.")
    if programs and role != "manager":
        raise InvalidInput(
            f"Only a manager is named for programs; an {role} acts in every program."
            if role == "owner"
            else f"Only a manager is named for programs; a {role} reads every program."
        )
    token = new_token()
    admin = Admin(
        organization_id=organization.id, email=email, token_hash=hash_token(token), role=role
    )
    session.add(admin)
    session.flush()
    for program in programs:
        session.add(AdminProgram(admin_id=admin.id, program_id=program.id))
    session.flush()
    return admin, token


def active_admin(session: Session, organization_id: int, email: str) -> Admin | None:
    """The organization's admin with this email (case aside) who is not removed."""
    return session.scalars(
        select(Admin).where(
            Admin.organization_id == organization_id,
            func.lower(Admin.email) == email.strip().lower(),
            Admin.removed_at.is_(None),
        )
    ).first()


def rotate_token(admin: Admin) -> str:
    """A new token for the admin; the old one opens nothing from the commit on."""
    token = new_token()
    admin.token_hash = hash_token(token)
    admin.token_rotated_at = utcnow()
    return token


def create_program(
    session: Session, organization: Organization, name: str, description: str = ""
) -> Program:
    name = checked_name("program", name)
    program = Program(organization_id=organization.id, name=name, description=description)
    session.add(program)
    session.flush()
    return program


def create_contract(
    session: Session,
    organization: Organization,
    name: str,
    programs: list[Program],
    *,
    seats: int | None = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> Contract:
    if seats is not None and seats < 1:
        raise InvalidInput(
            f"{seats} seats: a contract has at least 1 seat, or unlimited seats (no --seats)."
        )
    if starts_on is not None and ends_on is not None and ends_on < starts_on:
        raise InvalidInput(
            f"The contract ends on {ends_on.isoformat()}, before it starts on "
            f"{starts_on.isoformat()}: check the dates."
        )
    contract = Contract(
        organization_id=organization.id,
        name=checked_name("contract", name),
        seats=seats,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    session.add(contract)
    session.flush()
    for program in programs:
        session.add(ContractProgram(contract_id=contract.id, program_id=program.id))
    session.flush()
    return contract


DEMO_PROGRAMS = [
    ("Leadership Essentials", "Six weeks on leading teams through change."),
    ("Data Literacy for Everyone", "Reading charts, asking good questions of data."),
    ("Customer Success Onboarding", "The first 30 days for new customer success managers."),
    ("Cybersecurity Awareness 2026", "Phishing, passwords and safe remote work."),
    ("Python for Analysts", "From spreadsheets to notebooks."),
    ("Inclusive Hiring", "Structured interviews and fair decisions."),
]
DEMO_PEOPLE = [
    "Amara Okafor",
    "Björn Lindqvist",
    "Chloé Dubois",
    "Diego Hernández",
    "Emma Thompson",
    "Farid Haddad",
    "Grace Liu",
    "Hannah Becker",
    "Ivan Petrov",
    "Julia Rossi",
    "Kenji Sato",
    "Lena Fischer",
    "Mateo García",
    "Nadia Rahman",
    "Oliver Smith",
    "Priya Patel",
    "Quentin Moreau",
    "Rosa Álvarez",
    "Sofia Novak",
    "Tomás Silva",
    "Uma Krishnan",
    "Victor Dupont",
    "Wen Zhang",
    "Ximena Torres",
    "Yusuf Demir",
    "Zoe Walker",
    "Aiden Murphy",
    "Beatriz Costa",
    "Carlos Mendes",
    "Dana Cohen",
    "Elif Yılmaz",
    "Felix Wagner",
    "Gabriela Santos",
    "Hugo Martin",
    "Ines Ferreira",
    "Jonas Berg",
]


def seed_demo(session: Session, today: date | None = None) -> str:
    """Create the demo organization with programs, contracts, learners and invitations.

    Returns the admin token. Contracts: one unlimited, one nearly full, one expired, one not
    started yet, so every state of the contract picker can be seen.
    """
    # These bring polars, which only the seed needs here.
    from tui.service.checks import check_rows, rows_frame
    from tui.service.invitations import create_invitations

    today = today or date.today()
    organization = create_organization(session, DEMO_ORGANIZATION, is_demo=True)
    _, token = create_admin(session, organization, DEMO_ADMIN)
    programs = [create_program(session, organization, *program) for program in DEMO_PROGRAMS]
    # Fixed dates keep the demo (and the app's snapshots) the same from day to day.
    unlimited = create_contract(
        session,
        organization,
        "Enterprise Agreement 2026 (unlimited)",
        programs,
        starts_on=date(2026, 1, 1),
        ends_on=date(2030, 12, 31),
    )
    pilot = create_contract(
        session,
        organization,
        "Pilot - 30 seats",
        programs[:3],
        seats=30,
        starts_on=date(2026, 1, 1),
        ends_on=date(2030, 12, 31),
    )
    create_contract(
        session,
        organization,
        "Spring Cohort 2025 (expired)",
        programs[:4],
        seats=200,
        starts_on=date(2025, 3, 1),
        ends_on=date(2025, 6, 30),
    )
    create_contract(
        session,
        organization,
        "Expansion 2031 (not started)",
        programs,
        seats=500,
        starts_on=date(2031, 1, 1),
        ends_on=date(2031, 12, 31),
    )

    def invite(program: Program, contract: Contract, people: list[str], *, accept: bool) -> None:
        rows = RowBatch(
            row=list(range(2, len(people) + 2)),
            full_name=people,
            email=[_demo_email(name) for name in people],
            external_id=[f"EMP-{1000 + DEMO_PEOPLE.index(name)}" for name in people],
        )
        frame = rows_frame(rows)
        checked = check_rows(session, program, contract, frame, today)
        create_invitations(session, program, contract, frame, checked, send_emails=False)
        session.flush()
        if accept:
            for invitation in session.scalars(
                select(Invitation).where(
                    Invitation.program_id == program.id, Invitation.status == "pending"
                )
            ):
                invitation.status = "accepted"
                invitation.accepted_at = utcnow()

    invite(programs[0], pilot, DEMO_PEOPLE[:20], accept=True)  # the pilot's seats are taken...
    invite(programs[1], pilot, DEMO_PEOPLE[20:28], accept=False)  # ...28 of 30: nearly full
    invite(programs[3], unlimited, DEMO_PEOPLE[:30], accept=True)
    invite(programs[4], unlimited, DEMO_PEOPLE[10:16], accept=False)
    session.flush()
    return token


def _demo_email(name: str) -> str:
    import unicodedata

    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return plain.replace(" ", ".") + "@example.com"
