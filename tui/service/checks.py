"""The service's checks on learner rows (DESIGN §2), shared by the dry run and the commit.

The service trusts no client: every batch goes through the intake's own row rules first, so a
row that would fail `roster check` can never be stored, whoever sent it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tui.api.models import RowBatch
from tui.intake.report import Issue, Problem
from tui.intake.rules import check_learners
from tui.service.db import Contract, ContractProgram, Invitation, Learner, Program

SKIP_CODES = ("already_member", "already_invited")
# Below this many learners in the organization, loading them all beats querying by email.
_LOAD_ALL_BELOW = 200_000
_IN_BATCH = 500


@dataclass
class ExistingLearner:
    id: int
    external_id: str | None


@dataclass
class Checked:
    """The verdict on a batch: what to invite, what to skip, and why."""

    file_errors: list[Problem] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    ready: list[int] = field(default_factory=list)  # indexes into the batch
    skipped: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    seats_left: int | None = None
    normalized: list[str | None] = field(default_factory=list)
    learners: dict[str, ExistingLearner] = field(default_factory=dict)  # by email key


def seats_used(session: Session, contract_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Invitation)
            .where(Invitation.contract_id == contract_id)
            .where(Invitation.status.in_(("pending", "accepted")))
        )
        or 0
    )


def contract_program_ids(session: Session, contract_id: int) -> list[int]:
    return list(
        session.scalars(
            select(ContractProgram.program_id).where(ContractProgram.contract_id == contract_id)
        )
    )


def unavailable_reason(
    contract: Contract, program_ids: list[int], used: int, program_id: int | None, today: date
) -> str | None:
    """Why the contract cannot take new invitations (for the program), or None."""
    if program_id is not None and program_id not in program_ids:
        return "does not cover this program"
    if contract.ends_on is not None and contract.ends_on < today:
        return f"expired on {contract.ends_on.isoformat()}"
    if contract.starts_on is not None and contract.starts_on > today:
        return f"starts on {contract.starts_on.isoformat()}"
    if contract.seats is not None and used >= contract.seats:
        return f"full: all {contract.seats:,} seats are taken"
    return None


def check_rows(
    session: Session, program: Program, contract: Contract, rows: RowBatch, today: date
) -> Checked:
    checked = Checked()
    used = seats_used(session, contract.id)
    checked.seats_left = None if contract.seats is None else max(contract.seats - used, 0)
    reason = unavailable_reason(
        contract, contract_program_ids(session, contract.id), used, program.id, today
    )
    if reason and not reason.startswith("full"):
        checked.file_errors.append(
            Problem(
                code="contract_unavailable",
                message=f'The contract "{contract.name}" {reason}. '
                "Choose a contract that is active for this program.",
            )
        )

    frame = pl.DataFrame(
        {
            "row": pl.Series(rows.row, dtype=pl.UInt32),
            "full_name": pl.Series(rows.full_name, dtype=pl.String),
            "email": pl.Series(rows.email, dtype=pl.String),
            "external_id": pl.Series([value or "" for value in rows.external_id], dtype=pl.String),
            "overflow": pl.Series([None] * len(rows), dtype=pl.Int32),
        }
    )
    learners, row_issues = check_learners(frame, width=3)
    checked.normalized = learners["email_normalized"].to_list()
    failed = set(row_issues.filter(pl.col("severity") == "error")["row"].to_list())
    issues = [Issue.model_validate(issue) for issue in row_issues.iter_rows(named=True)]

    keys = {email.lower() for email in checked.normalized if email}
    external_ids = {value for value in rows.external_id if value}
    checked.learners, owners = _existing(session, program.organization_id, keys, external_ids)
    statuses = _program_statuses(session, program.id)

    for index, row in enumerate(rows.row):
        email = checked.normalized[index]
        if email is None or row in failed:
            checked.errors += 1
            continue
        learner = checked.learners.get(email.lower())
        external_id = rows.external_id[index]
        owner = owners.get(external_id) if external_id else None
        if owner is not None and (learner is None or owner != learner.id):
            checked.errors += 1
            issues.append(
                Issue(
                    row=row,
                    column="External ID",
                    severity="error",
                    code="external_id_conflict",
                    message=f"External ID {external_id} belongs to another learner of the "
                    "organization; correct the External ID or the email.",
                )
            )
            continue
        status = statuses.get(learner.id) if learner else None
        if status == "accepted":
            checked.skipped["already_member"] += 1
            issues.append(_skip(row, "already_member", f"{email} is already a member of "
                                f"{program.name}; the row is skipped."))  # fmt: skip
        elif status == "pending":
            checked.skipped["already_invited"] += 1
            issues.append(_skip(row, "already_invited", f"{email} already has a pending "
                                "invitation; skipped, no second invitation."))  # fmt: skip
        else:
            checked.ready.append(index)

    if checked.seats_left is not None and len(checked.ready) > checked.seats_left:
        checked.file_errors.append(
            Problem(
                code="contract_capacity",
                message=f'The contract "{contract.name}" has {checked.seats_left:,} seats left; '
                f"the {len(checked.ready):,} ready rows need {len(checked.ready):,}. Choose a "
                f"contract with more seats, or invite at most {checked.seats_left:,} learners.",
            )
        )
    checked.issues = sorted(issues, key=lambda issue: issue.row)
    return checked


def _skip(row: int, code: str, message: str) -> Issue:
    return Issue(row=row, column="Email", severity="warning", code=code, message=message)


def _existing(
    session: Session, organization_id: int, keys: set[str], external_ids: set[str]
) -> tuple[dict[str, ExistingLearner], dict[str, int]]:
    """The organization's learners with these email keys, and the owners of these External IDs."""
    query = select(Learner.id, Learner.email_key, Learner.external_id).where(
        Learner.organization_id == organization_id
    )
    count = session.scalar(
        select(func.count()).select_from(Learner).where(Learner.organization_id == organization_id)
    )
    if (count or 0) < _LOAD_ALL_BELOW or (count or 0) < 2 * (len(keys) + len(external_ids)):
        found = list(session.execute(query))
    else:
        found = []
        for values, column in (
            (list(keys), Learner.email_key),
            (list(external_ids), Learner.external_id),
        ):
            for start in range(0, len(values), _IN_BATCH):
                found += session.execute(query.where(column.in_(values[start : start + _IN_BATCH])))
    learners = {
        key: ExistingLearner(id=id_, external_id=ext) for id_, key, ext in found if key in keys
    }
    owners = {ext: id_ for id_, _, ext in found if ext is not None and ext in external_ids}
    return learners, owners


def _program_statuses(session: Session, program_id: int) -> dict[int, str]:
    """learner id -> 'accepted' or 'pending', for the program's live invitations."""
    statuses: dict[int, str] = {}
    for learner_id, status in session.execute(
        select(Invitation.learner_id, Invitation.status)
        .where(Invitation.program_id == program_id)
        .where(Invitation.status.in_(("pending", "accepted")))
    ):
        if statuses.get(learner_id) != "accepted":
            statuses[learner_id] = status
    return statuses
