"""Imports: start (idempotent by key), chunks (idempotent by seq), commit, status, history."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tui.service import chunks
from tui.service.db import Contract, Import, ImportChunk, Program, new_message
from tui.service.deps import (
    CurrentAdmin,
    Id,
    Limit,
    Offset,
    SessionDep,
    WriteSessionDep,
    notify_sender,
    owned,
)
from tui.service.errors import ApiProblem
from tui.service.serializers import import_out
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
    ) == (
        body.program_id,
        body.contract_id,
        body.send_emails,
        body.file_name,
        body.message,
        body.update_learners,
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
    me: CurrentAdmin,
    response: Response,
    idempotency_key: IdempotencyKey,
) -> wire.ImportStatus:
    existing = _find_by_key(session, me, idempotency_key)
    if existing is None:
        owned(session, Program, body.program_id, me, "program")
        owned(session, Contract, body.contract_id, me, "contract")
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
    me: CurrentAdmin,
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
    return {"seq": seq, "rows": rows.height}


@router.post("/{import_id}/commit", responses=CONFLICT)
def commit(
    import_id: Id,
    body: wire.ImportCommit,
    session: WriteSessionDep,
    me: CurrentAdmin,
    request: Request,
) -> wire.ImportStatus:
    from tui.service.invitations import ImportConflict, commit_import, reject_import

    record = owned(session, Import, import_id, me, "import")
    # Set by an embedded service started for one command (tui.service.runtime.EmbeddedService).
    owed_since = getattr(request.app.state, "owed_since", None)
    try:
        commit_import(session, record, body.rows, date.today(), owed_since=owed_since)
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
    if record.send_emails:
        notify_sender(request)
    return import_out(session, record)


@router.get("/{import_id}")
def get_import(import_id: Id, session: SessionDep, me: CurrentAdmin) -> wire.ImportStatus:
    return import_out(session, owned(session, Import, import_id, me, "import"))


@router.get("")
def list_imports(
    session: SessionDep, me: CurrentAdmin, offset: Offset = 0, limit: Limit = 50
) -> wire.Page[wire.ImportStatus]:
    query = select(Import).where(Import.organization_id == me.organization_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    records = session.scalars(query.order_by(Import.id.desc()).offset(offset).limit(limit))
    items = [import_out(session, record, with_issues=False) for record in records]
    return wire.Page[wire.ImportStatus](items=items, total=total, offset=offset, limit=limit)


@router.put("/{import_id}/left-out", responses=CONFLICT)
def keep_left_out(
    import_id: Id, body: wire.LeftOutRows, session: WriteSessionDep, me: CurrentAdmin
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
    }
    return wire.LeftOutRows.model_validate(record.left_out or empty)
