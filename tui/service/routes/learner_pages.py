"""The learner's side: the invitation page and accepting it."""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import select

from tui.service.db import Invitation, Organization, Program, utcnow
from tui.service.deps import Guesses, InvitationGuesses, SessionDep, WriteSessionDep
from tui.service.errors import ApiProblem, not_found
from tui.service.links import MAX_TOKEN, stored_key
from tui.service.pages import page
from tui.service.seats import live_status
from tui.wire.models import ProblemDetail

router = APIRouter(tags=["learners' side"])
Token = Annotated[str, Path(max_length=MAX_TOKEN)]


def _find(
    session: SessionDep, request: Request, token: str, guesses: Guesses
) -> tuple[Invitation, str, str, str]:
    """The invitation, its status as of now, its program's and its organization's names; a
    token matching none counts against the client."""
    key = stored_key(request.app.state.secret, token)
    found = (
        None
        if key is None
        else session.execute(
            select(Invitation, live_status(utcnow()), Program.name, Organization.name)
            .join(Program, Program.id == Invitation.program_id)
            .join(Organization, Organization.id == Invitation.organization_id)
            .where(Invitation.token_key == key)
        ).first()
    )
    if found is None:
        guesses.failed()
        raise not_found("invitation")
    invitation, status, program, organization = found
    return invitation, status, program, organization


@router.get("/invitations/{token}", response_class=HTMLResponse)
def invitationpage(
    token: Token, guesses: InvitationGuesses, session: SessionDep, request: Request
) -> str:
    _, status, program, organization = _find(session, request, token, guesses)
    action = (
        f'<form method="post" action="/invitations/{html.escape(token)}/accept">'
        '<button type="submit">Accept the invitation</button></form>'
        if status == "pending"
        else f"<p>This invitation is {html.escape(status)}.</p>"
    )
    return page(f"Invitation to {program}", f"{organization} invites you to {program}", action)


@router.post("/invitations/{token}/accept", responses={410: {"model": ProblemDetail}})
def accept(
    token: Token, guesses: InvitationGuesses, session: WriteSessionDep, request: Request
) -> Response:
    """Accept: a page for a browser (the form on the invitation page), JSON for a program."""
    invitation, status, program, organization = _find(session, request, token, guesses)
    browser = "text/html" in request.headers.get("accept", "")
    if status not in ("pending", "accepted"):
        if browser:
            return HTMLResponse(
                page(
                    "Invitation not valid",
                    f"This invitation is {status}",
                    f"<p>Ask {html.escape(organization)} for a new invitation to "
                    f"{html.escape(program)}.</p>",
                ),
                status_code=410,
            )
        raise ApiProblem(
            410, "Invitation not valid", f"The invitation is {status}.", code=f"invitation_{status}"
        )
    if status == "pending":
        invitation.status = "accepted"
        invitation.accepted_at = utcnow()
        session.commit()
    if browser:
        return HTMLResponse(
            page(
                f"Welcome to {program}",
                f"Welcome to {program}",
                f"<p>You accepted {html.escape(organization)}'s invitation. You are now a "
                f"member of {html.escape(program)}.</p>",
            )
        )
    return JSONResponse({"status": "accepted", "program": program})
