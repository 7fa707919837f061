"""The learner's side: the invitation page and accepting it."""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import select

from tui.api.models import ProblemDetail
from tui.service.checks import live_status
from tui.service.db import Invitation, Organization, Program, utcnow
from tui.service.deps import Guesses, InvitationGuesses, SessionDep, WriteSessionDep
from tui.service.errors import ApiProblem, not_found

router = APIRouter(tags=["learners' side"])
Token = Annotated[str, Path(max_length=64)]


def _find(session: SessionDep, token: str, guesses: Guesses) -> tuple[Invitation, str, str, str]:
    """The invitation, its status as of now, its program's and its organization's names; a
    token matching none counts against the client."""
    found = session.execute(
        select(Invitation, live_status(utcnow()), Program.name, Organization.name)
        .join(Program, Program.id == Invitation.program_id)
        .join(Organization, Organization.id == Invitation.organization_id)
        .where(Invitation.token == token)
    ).first()
    if found is None:
        guesses.failed()
        raise not_found("invitation")
    invitation, status, program, organization = found
    return invitation, status, program, organization


@router.get("/invitations/{token}", response_class=HTMLResponse)
def invitation_page(token: Token, guesses: InvitationGuesses, session: SessionDep) -> str:
    _, status, program, organization = _find(session, token, guesses)
    action = (
        f'<form method="post" action="/invitations/{html.escape(token)}/accept">'
        '<button type="submit">Accept the invitation</button></form>'
        if status == "pending"
        else f"<p>This invitation is {html.escape(status)}.</p>"
    )
    return (
        f"<!doctype html><title>Invitation to {html.escape(program)}</title>"
        f"<h1>{html.escape(organization)} invites you to {html.escape(program)}</h1>{action}"
    )


@router.post("/invitations/{token}/accept", responses={410: {"model": ProblemDetail}})
def accept(token: Token, guesses: InvitationGuesses, session: WriteSessionDep) -> JSONResponse:
    invitation, status, program, _ = _find(session, token, guesses)
    if status not in ("pending", "accepted"):
        raise ApiProblem(
            410, "Invitation not valid", f"The invitation is {status}.", code=f"invitation_{status}"
        )
    if status == "pending":
        invitation.status = "accepted"
        invitation.accepted_at = utcnow()
        session.commit()
    return JSONResponse({"status": "accepted", "program": program})
