"""Shared dependencies of the routes: database sessions, the current admin, ownership, bounds,
and the throttle on guessed tokens."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tui.service.db import Admin, Contract, Import, Invitation, Program, hash_token, write_session
from tui.service.errors import ApiProblem, not_found, too_many_attempts
from tui.service.mail import OutboxSender
from tui.service.roles import program_scope, require_owner, require_writer
from tui.service.throttle import GuessThrottle, Throttles

M = TypeVar("M", Program, Contract, Import, Invitation)
# Ids are 32-bit on PostgreSQL; anything larger names nothing.
MAX_ID = 2**31 - 1
MAX_PAGE = 500


def _sessions(request: Request) -> sessionmaker[Session]:
    sessions: sessionmaker[Session] = request.app.state.sessions
    return sessions


def read_session(request: Request) -> Iterator[Session]:
    """A session for reading: it never takes a write lock, so reads go on during an import."""
    with _sessions(request)() as session:
        yield session


def writing_session(request: Request) -> Iterator[Session]:
    """A session for a route that reads what it changes (see `write_session`)."""
    with write_session(_sessions(request)) as session:
        yield session


SessionDep = Annotated[Session, Depends(read_session)]
WriteSessionDep = Annotated[Session, Depends(writing_session)]


@dataclass(frozen=True)
class Guesses:
    """A request's client before one throttle, to tell it of a token that matched nothing."""

    throttle: GuessThrottle
    client: str

    def failed(self) -> None:
        self.throttle.failed(self.client)


def _admit(throttle: GuessThrottle, request: Request, what: str) -> Guesses:
    """The request's `Guesses`, or 429 if its client failed too often (see `throttle.py`)."""
    # The peer's address as the server reports it: uvicorn takes it from X-Forwarded-For only
    # when the connection comes from an address in its forwarded_allow_ips.
    guesses = Guesses(throttle, request.client.host if request.client else "")
    retry_after = throttle.retry_after(guesses.client)
    if retry_after:
        raise too_many_attempts(what, retry_after)
    return guesses


def _throttles(request: Request) -> Throttles:
    throttles: Throttles = request.app.state.throttles
    return throttles


def invitation_guesses(request: Request) -> Guesses:
    """Refuses (429) a client whose invitation tokens kept matching nothing, before its
    request reaches the database: declare it before the route's session."""
    return _admit(_throttles(request).invitation_tokens, request, "invitation links")


InvitationGuesses = Annotated[Guesses, Depends(invitation_guesses)]


bearer = HTTPBearer(auto_error=False, description="An admin token: `roster admin create-admin`.")


def current_admin(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Admin:
    # A throttled client is refused before its token is looked up; a missing token is no guess.
    guesses = _admit(_throttles(request).admin_tokens, request, "admin tokens")
    token = credentials.credentials if credentials else ""
    found = None
    if token.strip():
        # Its own short session: a request holds one connection at a time, never two.
        with _sessions(request)() as session:
            found = session.scalars(
                select(Admin).where(
                    Admin.token_hash == hash_token(token.strip()), Admin.removed_at.is_(None)
                )
            ).first()
        if found is None:
            guesses.failed()
    if found is None:
        raise ApiProblem(
            401,
            "Unauthorized",
            "Send an admin token: Authorization: Bearer <token>.",
            code="unauthorized",
        )
    return found


CurrentAdmin = Annotated[Admin, Depends(current_admin)]


def writer_admin(me: CurrentAdmin) -> Admin:
    """The admin, if their role may change things (owner, manager); a viewer gets 403."""
    require_writer(me)
    return me


def owner_admin(me: CurrentAdmin) -> Admin:
    """The admin, if an owner (admins, the organization's policy, contracts, programs)."""
    require_owner(me, "manage the organization's admins, contracts, programs or policy")
    return me


# Routes that change invitations, learners or members take WriterAdmin; the organization's
# own settings take OwnerAdmin; reads take CurrentAdmin and filter by `roles.program_scope`.
WriterAdmin = Annotated[Admin, Depends(writer_admin)]
OwnerAdmin = Annotated[Admin, Depends(owner_admin)]
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Search = Annotated[str, Query(max_length=200)]


def owned(session: Session, model: type[M], id_: int, me: Admin, what: str) -> M:
    """The admin's organization's `model` with this id, or 404 (another organization's too).

    A program, or an invitation or import of a program, outside a manager's programs is 404
    as well: it does not exist for them (`roles.program_scope`). A contract belongs to the
    whole organization: the program it is used with is the one checked."""
    found = session.get(model, id_)
    if found is None or found.organization_id != me.organization_id:
        raise not_found(what)
    if not isinstance(found, Contract):
        scope = program_scope(session, me)
        program_id = found.id if isinstance(found, Program) else found.program_id
        if scope is not None and program_id not in scope:
            raise not_found(what)
    return found


def notify_sender(request: Request) -> None:
    """Wake the outbox sender: new mail is queued."""
    sender: OutboxSender | None = request.app.state.sender
    if sender is not None:
        sender.notify()
