"""Invitations: list, the dry-run check, invite one learner, resend and revoke."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from tui.service import dry_run, recorded
from tui.service.audit import Actor
from tui.service.db import Admin, Contract, Invitation, Learner, Program, utcnow
from tui.service.deps import (
    MAX_ID,
    MAX_PAGE,
    CurrentAdmin,
    Id,
    Limit,
    Offset,
    OptionalId,
    Search,
    SessionDep,
    WriterAdmin,
    WriteSessionDep,
    notify_sender,
    owned,
)
from tui.service.errors import ApiProblem
from tui.service.roles import in_scope, program_scope
from tui.service.seats import is_pending, with_status
from tui.service.serializers import (
    invitation_json,
    invitation_lines,
    invitation_out,
    invitations_out,
    select_invitations,
)
from tui.text import fold
from tui.wire import models as wire

# polars and the row checks load with the first request that needs them: the service starts
# without them, and a command that only lists (roster programs) never loads them.
if TYPE_CHECKING:
    import polars as pl

router = APIRouter(tags=["invitations"])


NDJSON = "application/x-ndjson"


@router.get(
    "/invitations",
    response_model=wire.InvitationPage,
    responses={
        200: {
            "content": {
                NDJSON: {
                    "schema": {"type": "string"},
                    "description": "Asked for with Accept: application/x-ndjson: every "
                    "invitation of the filter, one JSON object a line, no paging.",
                }
            }
        }
    },
)
def list_invitations(
    request: Request,
    session: SessionDep,
    me: CurrentAdmin,
    program_id: OptionalId = None,
    status: wire.InvitationStatus | None = None,
    email_status: wire.EmailStatus | None = None,
    import_id: OptionalId = None,
    contract_id: OptionalId = None,
    q: Search = "",
    pending_for_days: Annotated[int | None, Query(ge=0, le=3650)] = None,
    ids: Annotated[list[wire.Id] | None, Query(max_length=MAX_PAGE)] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Any:
    """A page of the invitations of a filter; or, with `Accept: application/x-ndjson`, all of
    them as JSON lines, streamed (a million in seconds, where pages would take minutes)."""
    now = utcnow()
    if program_id is not None:
        owned(session, Program, program_id, me, "program")
    chosen = wire.InvitationSelection.model_construct(
        ids=None,
        program_id=program_id,
        contract_id=contract_id,
        status=status,
        email_status=email_status,
        import_id=import_id,
        q=q,
        pending_for_days=pending_for_days,
    )
    where = _filters(session, me, now, chosen)
    if ids is not None:  # these only (a client following the emails of those it acted on)
        where.append(Invitation.id.in_(ids))
    if NDJSON in request.headers.get("accept", ""):
        dialect = session.get_bind().dialect.name
        every = invitation_json(now, dialect).where(*where)
        return StreamingResponse(
            invitation_lines(request.app.state.sessions, every, dialect), media_type=NDJSON
        )
    query = select_invitations(now).where(*where)
    # Counted on invitations alone (the other joins follow foreign keys and drop nothing):
    # a million are counted in a tenth of the time.
    counted = select(func.count(Invitation.id)).where(*where)
    if q:
        counted = counted.join(Learner, Learner.id == Invitation.learner_id)
    total = session.scalar(counted) or 0
    items = invitations_out(session, query.order_by(Invitation.id).offset(offset).limit(limit))
    return wire.InvitationPage(items=items, total=total, offset=offset, limit=limit)


async def _body_file(request: Request) -> io.BytesIO:
    """The body in one buffer, grown as it arrives: Starlette's `body()` would keep the
    chunks and their join, twice the body (42 MB at a million rows) while the check runs."""
    buffer = io.BytesIO()
    async for chunk in request.stream():
        if buffer.tell() + len(chunk) > dry_run.MAX_BODY:
            raise dry_run.too_large()
        buffer.write(chunk)
    buffer.seek(0)
    return buffer


@router.post(
    "/programs/{program_id}/invitations/check",
    openapi_extra=dry_run.openapi_body(),
    response_model=wire.CheckResult,
    responses={422: {"model": wire.ProblemDetail}},
)
def check_invitations(
    program_id: Id,
    session: SessionDep,
    me: CurrentAdmin,
    request: Request,
    body: Annotated[io.BytesIO, Depends(_body_file)],
    contract_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="The contract, with a text/csv body.")
    ] = None,
) -> Response:
    """The dry run: the service's checks on rows that passed the file checks, seats left. It
    changes nothing, so every role may run it (a viewer too).

    The answer (a CheckResult) is written from the checks' frames by polars: a file checked
    again against its own invitations has a row issue per row, a million of them.
    """
    import polars as pl

    from tui.service.checks import check_dry_run

    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "text/csv":
        if contract_id is None:
            raise dry_run.invalid("A CSV dry run names its contract: ?contract_id=N")
        rows = dry_run.read_csv(body)
    else:
        contract_id, rows = dry_run.read_json(body)
    body.close()  # the rows are in the frame: the request's 42 MB go before the check runs
    program = owned(session, Program, program_id, me, "program")
    contract = owned(session, Contract, contract_id, me, "contract")
    checked = check_dry_run(session, program, contract, rows, date.today())
    del rows
    head = wire.CheckResult(
        file_errors=checked.file_errors,
        issues=[],
        seats_left=checked.seats_left,
        ready=checked.ready.height,
        skipped=sum(checked.skipped.values()),
        errors=checked.errors,
    ).model_dump_json(exclude={"issues", "known", "skipped_rows"})
    known = checked.known.rename({"stored_name": "full_name", "stored_external_id": "external_id"})
    issues = checked.issue_frame.write_json() if checked.issue_frame.height else "[]"
    skipped = ",".join(
        f'"{code}":{_json_numbers(checked.skip_rows.filter(pl.col("code") == code)["row"])}'
        for code in wire.SkippedRows.model_fields
    )
    content = (
        f'{head[:-1]},"issues":{issues},"known":{json.dumps(known.to_dict(as_series=False))},'
        f'"skipped_rows":{{{skipped}}}}}'
    )
    return Response(content, media_type="application/json")


def _json_numbers(numbers: pl.Series) -> str:
    """A JSON array of the numbers, joined by polars: a million as Python ints took twice as
    long."""
    import polars as pl

    joined: str = numbers.cast(pl.String).str.join(",").item()
    return f"[{joined}]"


@router.post(
    "/programs/{program_id}/invitations",
    status_code=201,
    responses={409: {"model": wire.ProblemDetail}, 422: {"model": wire.ProblemDetail}},
)
def invite_learner(
    program_id: Id,
    body: wire.InviteLearner,
    session: WriteSessionDep,
    me: WriterAdmin,
    request: Request,
) -> wire.Invitation:
    from tui.service.invite_one import invite_one_learner

    owned(session, Program, program_id, me, "program")
    owned(session, Contract, body.contract_id, me, "contract")
    invitation_id = invite_one_learner(session, program_id, body, date.today())
    recorded.invitation_changed(
        session, me, "invitation.created", session.get_one(Invitation, invitation_id)
    )
    session.commit()
    if body.send_email:
        notify_sender(request)
    return invitation_out(session, invitation_id, utcnow())


@router.post(
    "/invitations/{invitation_id}/resend",
    responses={409: {"model": wire.ProblemDetail}},
)
def resend(
    invitation_id: Id, session: WriteSessionDep, me: WriterAdmin, request: Request
) -> wire.Invitation:
    from tui.service.invitations import InvitationConflict, resend_invitation

    invitation = owned(session, Invitation, invitation_id, me, "invitation")
    try:
        resend_invitation(session, invitation, date.today())
    except InvitationConflict as conflict:
        session.rollback()
        raise ApiProblem(
            409, "Cannot resend", conflict.message, conflict.code, seats_left=conflict.seats_left
        ) from None
    recorded.invitation_changed(session, me, "invitation.resent", invitation)
    session.commit()
    notify_sender(request)
    return invitation_out(session, invitation.id, utcnow())


@router.delete("/invitations/{invitation_id}", responses={409: {"model": wire.ProblemDetail}})
def revoke(invitation_id: Id, session: WriteSessionDep, me: WriterAdmin) -> wire.Invitation:
    """Revoke a pending invitation; an accepted one is refused (409 `is_member`): its learner is
    a member, removed with /programs/{id}/members/remove."""
    from tui.service.invitations import revoke_invitation
    from tui.service.members import refuse_revoking_members

    invitation = owned(session, Invitation, invitation_id, me, "invitation")
    refuse_revoking_members(session, [invitation.id])
    was = invitation.status
    revoke_invitation(session, invitation)
    if invitation.status != was:
        recorded.invitation_changed(session, me, "invitation.revoked", invitation)
    session.commit()
    return invitation_out(session, invitation.id, utcnow())


def _selected(
    session: Session, me: Admin, body: wire.InvitationSelection, now: datetime
) -> Select[int]:
    """The ids of the organization's invitations the selection names."""
    query = select(Invitation.id).where(*_filters(session, me, now, body))
    if body.q:
        query = query.join(Learner, Learner.id == Invitation.learner_id)
    if body.after_id is not None:
        query = query.where(Invitation.id > body.after_id)
    return query if body.ids is None else query.where(Invitation.id.in_(body.ids))


def _batch(
    session: Session, me: CurrentAdmin, body: wire.InvitationSelection, now: datetime
) -> tuple[Select[int], int | None]:
    """The selection's ids and, with `limit`, only its next batch: the `limit` lowest ids, and
    the highest of them (None when none are left)."""
    if body.program_id is not None:  # outside a manager's programs: 404, as when listing
        owned(session, Program, body.program_id, me, "program")
    selected = _selected(session, me, body, now)
    if body.limit is None:
        return selected, None
    batch = selected.order_by(Invitation.id).limit(body.limit).subquery()
    last = session.scalar(select(func.max(batch.c.id)))
    # The batch as an id range: the actions count it and read it more than once.
    return selected.where(Invitation.id <= (last or 0)), last


def _filters(
    session: Session, me: Admin, now: datetime, chosen: wire.InvitationSelection
) -> list[Any]:
    """The conditions of a filter, for a listing (joined with learners) or an action; a
    manager's are within their programs."""
    where: list[Any] = [
        Invitation.organization_id == me.organization_id,
        in_scope(program_scope(session, me), Invitation.program_id),
    ]
    if chosen.program_id is not None:
        where.append(Invitation.program_id == chosen.program_id)
    if chosen.contract_id is not None:
        where.append(Invitation.contract_id == chosen.contract_id)
    if chosen.import_id is not None:
        where.append(Invitation.import_id == chosen.import_id)
    if chosen.status is not None:
        where.append(with_status(chosen.status, now))
    if chosen.email_status is not None:
        where.append(Invitation.email_status == chosen.email_status)
    if chosen.q:
        where.append(Learner.search_key.contains(fold(chosen.q), autoescape=True))
    if chosen.pending_for_days is not None:
        since = now - timedelta(days=chosen.pending_for_days)
        last_email = func.coalesce(Invitation.email_sent_at, Invitation.created_at)
        where += [is_pending(now), last_email <= since]
    return where


@router.post("/invitations/resend", response_model_exclude_none=True)
def resend_selected(
    body: wire.InvitationSelection, session: WriteSessionDep, me: WriterAdmin, request: Request
) -> wire.BulkResult:
    """A new email for every pending invitation selected, and its expiry renewed."""
    from tui.service.invitations import resend_many
    from tui.service.policy import invitation_lifetime

    now = utcnow()
    selected, last_id = _batch(session, me, body, now)
    lifetime = invitation_lifetime(session, me.organization_id)
    emails = recorded.live_emails(session, selected, now)
    program_id = None if body.program_id else recorded.live_program(session, selected, now)
    matched, changed = resend_many(session, selected, now, lifetime)
    recorded.bulk_changed(session, me, "invitation.resent", body, changed, emails, program_id)
    session.commit()
    if changed:
        notify_sender(request)
    left = {"not_pending": matched - changed} if matched > changed else {}
    return wire.BulkResult(matched=matched, changed=changed, left=left, last_id=last_id)


@router.post("/invitations/remind", response_model_exclude_none=True)
def remind_selected(
    body: wire.InvitationSelection, session: WriteSessionDep, me: WriterAdmin, request: Request
) -> wire.BulkResult:
    """A reminder: the same invitation emailed again, saying it is a reminder, to every
    pending one selected (for example `pending_for_days`: no answer for that long). The expiry
    stays as it is, and the automatic reminder sends them no other."""
    from tui.service.invitations import remind_many
    from tui.service.reminders import record_reminded

    now = utcnow()
    selected, last_id = _batch(session, me, body, now)
    matched, reminded = remind_many(session, selected, now)
    changed = len(reminded)
    if reminded:
        record_reminded(session, me.organization_id, Actor.admin(me), reminded, body.program_id)
    session.commit()
    if changed:
        notify_sender(request)
    left = {"not_pending": matched - changed} if matched > changed else {}
    return wire.BulkResult(matched=matched, changed=changed, left=left, last_id=last_id)


@router.post(
    "/invitations/revoke",
    response_model_exclude_none=True,
    responses={409: {"model": wire.ProblemDetail}},
)
def revoke_selected(
    body: wire.InvitationSelection, session: WriteSessionDep, me: WriterAdmin
) -> wire.BulkResult:
    """Revoke every pending invitation selected: their seats are free. Accepted invitations
    named by id, or by `status` accepted, are refused (409 `is_member`): their learners are
    members, removed with /programs/{id}/members/remove. A filter's other accepted ones are
    left as they are (`not_pending`)."""
    from tui.service.invitations import revoke_many
    from tui.service.members import refuse_revoking_members

    now = utcnow()
    selected, last_id = _batch(session, me, body, now)
    if body.ids is not None or body.status == "accepted":
        refuse_revoking_members(session, selected)
    emails = recorded.live_emails(session, selected, now)
    program_id = None if body.program_id else recorded.live_program(session, selected, now)
    matched, changed = revoke_many(session, selected, now)
    recorded.bulk_changed(session, me, "invitation.revoked", body, changed, emails, program_id)
    session.commit()
    left = {"not_pending": matched - changed} if matched > changed else {}
    return wire.BulkResult(matched=matched, changed=changed, left=left, last_id=last_id)
