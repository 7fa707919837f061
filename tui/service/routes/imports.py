"""Imports: start (idempotent by key), chunks (idempotent by seq), commit, status, history."""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from tui.service import chunks, recorded
from tui.service.abandon import abandon_idle_imports, abandon_import
from tui.service.commit_progress import commits
from tui.service.db import Contract, Import, ImportChunk, Program, new_message, utcnow
from tui.service.deps import (
    CurrentAdmin,
    Id,
    Limit,
    Offset,
    SessionDep,
    WriterAdmin,
    WriteSessionDep,
    notify_sender,
    owned,
)
from tui.service.errors import ApiProblem, storage_problem
from tui.service.mail import OutboxSender
from tui.service.roles import in_scope, program_scope
from tui.service.seats import archived_refusal
from tui.service.serializers import import_out
from tui.service.storage import BYTES_PER_INVITATION, give_back_log_space, storage_fault
from tui.wire import models as wire

router = APIRouter(prefix="/imports", tags=["imports"])
IdempotencyKey = Annotated[
    str,
    Header(
        min_length=1,
        max_length=200,
        description="The same key returns the same import, so a retried start creates nothing.",
    ),
]
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"model": wire.ProblemDetail}}
DROPPED = (
    "The import was dropped with the rows it had received, so retrying stores nothing twice; "
    "import the file again once this is fixed."
)


def _find_by_key(session: SessionDep, me: CurrentAdmin, key: str) -> Import | None:
    return session.scalars(
        select(Import).where(
            Import.organization_id == me.organization_id, Import.idempotency_key == key
        )
    ).first()


def _same_request(record: Import, body: wire.ImportCreate) -> bool:
    message = record.message.text if record.message else None
    return (
        record.program_id,
        record.contract_id,
        record.send_emails,
        record.file_name,
        message,
        record.update_learners,
        record.mode,
        record.remove_missing,
        record.max_removals,
        record.email_updated,
    ) == (
        body.program_id,
        body.contract_id,
        body.send_emails,
        body.file_name,
        body.message,
        body.update_learners,
        body.mode,
        body.remove_missing,
        body.max_removals,
        body.email_updated,
    )


@router.post(
    "",
    status_code=201,
    responses={
        200: {"model": wire.ImportStatus, "description": "The import this key already started"},
        422: {"model": wire.ProblemDetail},
    },
)
def start_import(
    body: wire.ImportCreate,
    session: WriteSessionDep,
    me: WriterAdmin,
    response: Response,
    idempotency_key: IdempotencyKey,
) -> wire.ImportStatus:
    # First: a key's import in a program outside a manager's programs is not theirs to see.
    program = owned(session, Program, body.program_id, me, "program")
    existing = _find_by_key(session, me, idempotency_key)
    if existing is None:
        abandon_idle_imports(session, utcnow())  # those whose client died mid-upload
        contract = owned(session, Contract, body.contract_id, me, "contract")
        if archived := archived_refusal(program, contract):
            raise ApiProblem(409, "Archived", archived, code="archived")
        record = Import(
            organization_id=me.organization_id,
            admin_id=me.id,
            idempotency_key=idempotency_key,
            program_id=body.program_id,
            contract_id=body.contract_id,
            send_emails=body.send_emails,
            file_name=body.file_name,
            message=new_message(me.organization_id, body.message),
            update_learners=body.update_learners,
            mode=body.mode,
            remove_missing=body.remove_missing,
            max_removals=body.max_removals,
            email_updated=body.email_updated,
        )
        session.add(record)
        try:
            session.commit()
            return import_out(session, record)
        except IntegrityError:  # the same key, raced: the winner's import is the answer
            session.rollback()
            existing = _find_by_key(session, me, idempotency_key)
            assert existing is not None
    if not _same_request(existing, body):
        raise ApiProblem(
            422,
            "Idempotency-Key reused",
            "This Idempotency-Key started another import (other program, contract, file, "
            "email choice, message or learner updates); use a new key for a new import.",
            code="idempotency_key_reused",
        )
    response.status_code = 200
    return import_out(session, existing)


async def _chunk_body(request: Request) -> bytes:
    """The chunk's body, refused past `chunks.MAX_BODY` as it arrives."""
    buffer = bytearray()
    async for part in request.stream():
        if len(buffer) + len(part) > chunks.MAX_BODY:
            raise chunks.too_large()
        buffer += part
    return bytes(buffer)


@router.put(
    "/{import_id}/chunks/{seq}",
    openapi_extra=chunks.openapi_body(),
    responses={**CONFLICT, 413: {"model": wire.ProblemDetail}, 422: {"model": wire.ProblemDetail}},
)
def put_chunk(
    import_id: Id,
    seq: Annotated[int, Path(ge=0, le=2**31 - 1)],
    session: WriteSessionDep,
    me: WriterAdmin,
    request: Request,
    body: Annotated[bytes, Depends(_chunk_body)],
) -> dict[str, int]:
    """Rows of the import, as CSV (text/csv) or a RowBatch (application/json). The same `seq`
    sent again with the same rows, in either form, changes nothing; with other rows, 409."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    rows = chunks.read_csv(body) if media_type == "text/csv" else chunks.read_json(body)
    del body
    record = owned(session, Import, import_id, me, "import")
    payload = chunks.stored(rows)
    stored = session.get(ImportChunk, (import_id, seq))
    if stored is not None:
        if chunks.stored(chunks.read_stored([stored.rows])) != payload:
            raise ApiProblem(
                409,
                "Chunk conflict",
                f"Chunk {seq} of import {import_id} was already received with other rows.",
                code="chunk_conflict",
            )
        return {"seq": seq, "rows": rows.height}
    if record.status != "open":
        raise ApiProblem(
            409,
            "Import closed",
            f"The import is {record.status}; start a new one.",
            code=f"import_{record.status}",
        )
    session.add(ImportChunk(import_id=import_id, seq=seq, rows=payload))
    try:
        session.commit()
    except IntegrityError:  # the same chunk, raced
        session.rollback()
    except (DBAPIError, sqlite3.Error) as error:
        _drop_on_storage_fault(session, record, error)
        raise
    return {"seq": seq, "rows": rows.height}


def _drop_on_storage_fault(
    session: Session, record: Import, error: Exception, needed: int | None = None
) -> None:
    """A chunk or commit a storage fault failed: the import will not commit, so it is dropped
    with its chunks now (they would only take the room a retry needs), and the fault told with
    its own code. Any other database error goes on as it was."""
    fault = storage_fault(error)
    if fault is None:
        return
    session.rollback()
    try:
        if record.status == "open":
            abandon_import(session, record)
            session.commit()
        done = DROPPED
    except (DBAPIError, sqlite3.Error):  # refused too: abandoned once idle
        session.rollback()
        done = "Nothing was stored."
    engine = session.get_bind().engine
    session.close()
    give_back_log_space(engine)
    raise storage_problem(fault, engine, needed, done) from None


@router.post("/{import_id}/commit", responses=CONFLICT)
def commit(
    import_id: Id,
    body: wire.ImportCommit,
    session: WriteSessionDep,
    me: WriterAdmin,
    request: Request,
) -> wire.ImportStatus:
    from tui.service.invitations import ImportConflict, commit_import, reject_import

    record = owned(session, Import, import_id, me, "import")
    # PostgreSQL: a commit of this import still running (its client gave up waiting, and
    # retried) holds the row; this one waits for it and then reads it committed, never
    # committing it a second time over the first's counts. (SQLite's write session already
    # waits for the only writer.)
    session.execute(select(Import.id).where(Import.id == record.id).with_for_update())
    session.refresh(record)
    if record.mode == "sync":
        from tui.service.routes.syncs import sync_commit

        return sync_commit(session, me, record, body.rows, request)
    # Set by an embedded service started for one command (tui.service.runtime.EmbeddedService).
    owed_since = getattr(request.app.state, "owed_since", None)
    retried = record.status == "committed"  # its entry is written already
    # A sync handler runs to its end in its thread, whether or not the client still waits.
    try:
        with commits(request.app.state).running(record.id) as progress:
            updated = commit_import(
                session,
                record,
                body.rows,
                date.today(),
                owed_since=owed_since,
                progress=progress,
                unsent=body,
            )
            if not retried:
                recorded.import_committed(session, me, record, updated)
            session.commit()
    except ImportConflict as conflict:
        session.rollback()
        if conflict.final and record.status == "open":
            reject_import(session, record)
            session.commit()
        errors = conflict.checked.file_errors if conflict.checked else []
        raise ApiProblem(
            409,
            "Import not committed",
            conflict.message,
            conflict.code,
            errors,
            seats_left=conflict.seats_left,
        ) from None
    except IntegrityError:
        # Only possible if a learner was invited outside Roster's locks (the database's unique
        # index caught it): nothing was written, and a retry skips that learner.
        session.rollback()
        raise ApiProblem(
            409,
            "Import not committed",
            "Another import invited some of these learners at the same moment; "
            "commit again and they will be skipped.",
            code="concurrent_import",
        ) from None
    except (DBAPIError, sqlite3.Error) as error:  # sqlite3's own: the commit copies rows raw
        _drop_on_storage_fault(session, record, error, body.rows * BYTES_PER_INVITATION)
        raise
    if record.send_emails:
        notify_sender(request)
    return import_out(session, record)


@router.delete("/{import_id}", responses=CONFLICT)
def abandon(import_id: Id, session: WriteSessionDep, me: WriterAdmin) -> wire.ImportStatus:
    """Give up an import that has not committed: it is abandoned and its rows dropped. An
    import already ended is answered as it is; a committed one cannot be given up (409)."""
    record = owned(session, Import, import_id, me, "import")
    if record.status == "committed":
        raise ApiProblem(
            409,
            "Import committed",
            "The import is committed; revoke its invitations instead.",
            code="import_committed",
        )
    if record.status == "open":
        abandon_import(session, record)
        session.commit()
    return import_out(session, record)


@router.get("/{import_id}")
def get_import(
    import_id: Id, session: SessionDep, me: CurrentAdmin, request: Request
) -> wire.ImportStatus:
    record = owned(session, Import, import_id, me, "import")
    return mail_paused(request, import_out(session, record))


def mail_paused(request: Request, status: wire.ImportStatus) -> wire.ImportStatus:
    """The import's status, with the progress of its commit while this service process runs
    it; saying why its emails wait while this service's sender is paused (a full disk): the
    database that would record the reason cannot be written."""
    if status.status == "open" and (progress := commits(request.app.state).of(status.id)):
        status = status.model_copy(update={"progress": progress})
    sender: OutboxSender | None = request.app.state.sender
    if sender is None or sender.paused is None or status.emails_done:
        return status
    return status.model_copy(update={"email_problem": sender.paused})


@router.get("")
def list_imports(
    session: SessionDep, me: CurrentAdmin, request: Request, offset: Offset = 0, limit: Limit = 50
) -> wire.Page[wire.ImportStatus]:
    query = select(Import).where(Import.organization_id == me.organization_id)
    query = query.where(in_scope(program_scope(session, me), Import.program_id))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    records = session.scalars(query.order_by(Import.id.desc()).offset(offset).limit(limit))
    items = [
        mail_paused(request, import_out(session, record, with_issues=False)) for record in records
    ]
    return wire.Page[wire.ImportStatus](items=items, total=total, offset=offset, limit=limit)


@router.put("/{import_id}/left-out", responses=CONFLICT)
def keep_left_out(
    import_id: Id, body: wire.LeftOutRows, session: WriteSessionDep, me: WriterAdmin
) -> dict[str, int]:
    """Keep the rows of the file this committed import did not invite (sent again: replaced)."""
    record = owned(session, Import, import_id, me, "import")
    if record.status != "committed":
        raise ApiProblem(
            409,
            "Import not committed",
            f"The import is {record.status}; its left-out rows are kept once it is committed.",
            code="import_not_committed",
        )
    record.left_out = body.model_dump()
    session.commit()
    return {"rows": len(body)}


@router.get("/{import_id}/left-out")
def left_out(import_id: Id, session: SessionDep, me: CurrentAdmin) -> wire.LeftOutRows:
    """The rows of the file the import did not invite, with why; none kept reads as none."""
    record = owned(session, Import, import_id, me, "import")
    empty: dict[str, list[object]] = {
        "row": [],
        "full_name": [],
        "email": [],
        "external_id": [],
        "error": [],
        "outcome": [],
    }
    return wire.LeftOutRows.model_validate(record.left_out or empty)


@router.get("/{import_id}/results", responses=CONFLICT)
def results(import_id: Id, session: SessionDep, me: CurrentAdmin) -> wire.ImportResults:
    """One line per row of the import's file with its outcome: invited, skipped or error, and
    why (rows with errors the client found are here when it kept its left-out rows)."""
    from tui.service.import_results import import_results

    record = owned(session, Import, import_id, me, "import")
    if record.status != "committed":
        raise ApiProblem(
            409,
            "Import not committed",
            f"The import is {record.status}; it has results once it is committed.",
            code="import_not_committed",
        )
    return import_results(session, record)
