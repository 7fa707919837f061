"""Invite one learner (the Invite Learner form): an import's commit of a single row, under the
same lock and the same checks, in the caller's transaction."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tui.intake.report import SKIP_CODES, Issue, Problem
from tui.service.checks import Checked, check_rows, rows_frame
from tui.service.db import Invitation, Learner, new_message, utcnow
from tui.service.invitations import create_invitations, lock_for_invitations
from tui.service.refusals import InviteRefused
from tui.service.seats import is_pending
from tui.wire import models as wire


def invite_one_learner(
    session: Session, program_id: int, learner: wire.InviteLearner, today: date
) -> int:
    """Invite the learner to the program under their contract, with the admin's message and
    the email queued if `send_email`; the new invitation's id. Raises InviteRefused before
    any learner, invitation, message or email is written. The caller commits."""
    program, contract = lock_for_invitations(session, program_id, learner.contract_id)
    frame = rows_frame(learner.as_rows())
    checked = check_rows(session, program, contract, frame, today)
    _refuse_unless_ready(checked)
    message = new_message(program.organization_id, learner.message)
    if message is not None:
        session.add(message)
        session.flush()
    create_invitations(
        session,
        program,
        contract,
        frame,
        checked,
        learner.send_email,
        message_id=message.id if message else None,
    )
    return session.scalars(
        select(Invitation.id)
        .join(Learner, Learner.id == Invitation.learner_id)
        .where(
            Invitation.program_id == program.id,
            Learner.organization_id == program.organization_id,
            Learner.email_key == checked.ready["normalized"][0].lower(),
            is_pending(utcnow()),
        )
    ).one()


def _refuse_unless_ready(checked: Checked) -> None:
    """Raise InviteRefused unless the row is ready: the contract's file errors first, then
    the row's errors, then its skip (already a member, already invited)."""
    if checked.file_errors:
        raise InviteRefused("file_error", checked.file_errors, seats_left=checked.seats_left)
    issues = checked.issues
    errors = [issue for issue in issues if issue.severity == "error"]
    if errors:
        raise InviteRefused("row_error", _problems(errors))
    skips = [issue for issue in issues if issue.code in SKIP_CODES]
    if skips:
        raise InviteRefused("skipped", _problems(skips))


def _problems(issues: list[Issue]) -> list[Problem]:
    return [Problem(code=issue.code, message=issue.message) for issue in issues]
