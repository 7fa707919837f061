"""The service's HTTP API (DESIGN §3): FastAPI routes over the storage, errors as problem+json."""

import asyncio
import contextlib
import html
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, FastAPI, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

from tui.api import models as wire
from tui.intake.report import Problem
from tui.service.checks import (
    check_rows,
    contract_program_ids,
    seats_used,
    unavailable_reason,
)
from tui.service.db import (
    Admin,
    Contract,
    ContractProgram,
    Import,
    ImportChunk,
    Invitation,
    Learner,
    Organization,
    OutboxMessage,
    Program,
    hash_token,
    utcnow,
)
from tui.service.invitations import (
    ImportConflict,
    commit_import,
    commit_issues,
    create_invitations,
    expire_invitations,
    queue_emails,
    skipped_counts,
)
from tui.service.mail import OutboxSender

M = TypeVar("M", Program, Contract, Import, Invitation)
InvitationRows = Select[Invitation, Learner, str, str]
MAX_PAGE = 500
PROBLEM = "application/problem+json"


class ApiProblem(Exception):
    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        code: str | None = None,
        errors: list[Problem] | None = None,
    ) -> None:
        super().__init__(detail)
        self.body = wire.ProblemDetail(
            title=title, status=status, detail=detail, code=code, errors=errors or []
        )


def not_found(what: str) -> ApiProblem:
    return ApiProblem(404, "Not found", f"No such {what}.", code="not_found")


def problem_response(body: wire.ProblemDetail) -> JSONResponse:
    return JSONResponse(body.model_dump(), status_code=body.status, media_type=PROBLEM)


def create_app(sessions: sessionmaker[Session], sender: OutboxSender | None = None) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(sender.run()) if sender else None
        yield
        if task:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if sender:
            await sender.transport.close()

    app = FastAPI(title="Roster", version="1", lifespan=lifespan)

    @app.exception_handler(ApiProblem)
    async def _problem(_request: Request, error: ApiProblem) -> JSONResponse:
        return problem_response(error.body)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        title = {401: "Unauthorized", 404: "Not found", 405: "Method not allowed"}
        return problem_response(
            wire.ProblemDetail(
                title=title.get(error.status_code, "Error"),
                status=error.status_code,
                detail=str(error.detail),
            )
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        details = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors()
        )
        return problem_response(
            wire.ProblemDetail(
                title="Invalid request", status=422, detail=details, code="invalid_request"
            )
        )

    def db() -> Iterator[Session]:
        with sessions() as session:
            yield session

    def admin(
        session: Annotated[Session, Depends(db)],
        authorization: Annotated[str | None, Header()] = None,
    ) -> Admin:
        scheme, _, token = (authorization or "").partition(" ")
        found = None
        if scheme.lower() == "bearer" and token:
            found = session.scalars(
                select(Admin).where(Admin.token_hash == hash_token(token.strip()))
            ).first()
        if found is None:
            raise ApiProblem(
                401,
                "Unauthorized",
                "Send an admin token: Authorization: Bearer <token>.",
                code="unauthorized",
            )
        return found

    Db = Annotated[Session, Depends(db)]
    Me = Annotated[Admin, Depends(admin)]

    def owned(session: Session, model: type[M], id_: int, me: Admin, what: str) -> M:
        found = session.get(model, id_)
        if found is None or found.organization_id != me.organization_id:
            raise not_found(what)
        return found

    def paginate(
        session: Session, query: Select[Any], offset: int, limit: int
    ) -> tuple[list[Any], int]:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        return list(session.execute(query.offset(offset).limit(limit))), total

    def contract_out(session: Session, contract: Contract, program_id: int | None) -> wire.Contract:
        used = seats_used(session, contract.id)
        program_ids = contract_program_ids(session, contract.id)
        reason = unavailable_reason(contract, program_ids, used, program_id, date.today())
        return wire.Contract(
            id=contract.id,
            name=contract.name,
            seats_total=contract.seats,
            seats_used=used,
            seats_left=None if contract.seats is None else max(contract.seats - used, 0),
            starts_on=contract.starts_on,
            ends_on=contract.ends_on,
            available=reason is None,
            unavailable_reason=reason,
            program_ids=program_ids,
        )

    def import_out(session: Session, record: Import, with_issues: bool = True) -> wire.ImportStatus:
        counts = dict(
            session.execute(
                select(OutboxMessage.status, func.count())
                .join(Invitation, Invitation.id == OutboxMessage.invitation_id)
                .where(Invitation.import_id == record.id)
                .group_by(OutboxMessage.status)
            ).all()
        )
        chunks = session.scalar(select(func.count()).where(ImportChunk.import_id == record.id))
        return wire.ImportStatus(
            id=record.id,
            status=record.status,  # type: ignore[arg-type]
            program_id=record.program_id,
            contract_id=record.contract_id,
            send_emails=record.send_emails,
            file_name=record.file_name,
            rows=record.rows,
            chunks=chunks or 0,
            invited=record.invited,
            skipped=skipped_counts(record),
            errors=record.errors,
            emails_queued=sum(counts.values()),
            emails_sent=counts.get("sent", 0),
            emails_failed=counts.get("failed", 0),
            created_at=record.created_at,
            committed_at=record.committed_at,
            issues=commit_issues(record) if with_issues else [],
        )

    def invitation_out(session: Session, invitation: Invitation) -> wire.Invitation:
        return invitations_out(session, select_invitations().where(Invitation.id == invitation.id))[
            0
        ]

    def select_invitations() -> InvitationRows:
        return (
            select(Invitation, Learner, Program.name, Contract.name)
            .join(Learner, Learner.id == Invitation.learner_id)
            .join(Program, Program.id == Invitation.program_id)
            .join(Contract, Contract.id == Invitation.contract_id)
        )

    def invitations_out(session: Session, query: InvitationRows) -> list[wire.Invitation]:
        return [
            wire.Invitation(
                id=invitation.id,
                program_id=invitation.program_id,
                program_name=program_name,
                contract_id=invitation.contract_id,
                contract_name=contract_name,
                learner_id=learner.id,
                email=learner.email,
                full_name=learner.full_name,
                external_id=learner.external_id,
                status=cast(wire.InvitationStatus, invitation.status),
                email_status=cast(wire.EmailStatus, invitation.email_status),
                import_id=invitation.import_id,
                created_at=invitation.created_at,
                expires_at=invitation.expires_at,
            )
            for invitation, learner, program_name, contract_name in session.execute(query)
        ]

    def wake_sender() -> None:
        if sender:
            sender.wake.set()

    @app.get("/api/v1/me")
    def get_me(session: Db, me: Me) -> wire.Me:
        organization = session.get_one(Organization, me.organization_id)
        return wire.Me(
            admin_email=me.email,
            organization=wire.Organization(
                id=organization.id, name=organization.name, is_demo=organization.is_demo
            ),
        )

    @app.get("/api/v1/usage")
    def get_usage(session: Db, me: Me) -> wire.Usage:
        expire_invitations(session)
        session.commit()
        org = me.organization_id
        statuses = dict(
            session.execute(
                select(Invitation.status, func.count())
                .where(Invitation.organization_id == org)
                .group_by(Invitation.status)
            ).all()
        )
        contracts = session.scalars(
            select(Contract).where(Contract.organization_id == org).order_by(Contract.name)
        )
        return wire.Usage(
            learners=session.scalar(
                select(func.count()).select_from(Learner).where(Learner.organization_id == org)
            )
            or 0,
            pending_invitations=statuses.get("pending", 0),
            accepted_invitations=statuses.get("accepted", 0),
            programs=session.scalar(
                select(func.count()).select_from(Program).where(Program.organization_id == org)
            )
            or 0,
            contracts=[contract_out(session, contract, None) for contract in contracts],
        )

    @app.get("/api/v1/programs")
    def list_programs(
        session: Db,
        me: Me,
        q: str = "",
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    ) -> wire.Page[wire.Program]:
        query = select(Program).where(Program.organization_id == me.organization_id)
        if q:
            query = query.where(Program.name.ilike(f"%{q}%"))
        rows, total = paginate(session, query.order_by(Program.name), offset, limit)
        ids = [program.id for (program,) in rows]
        counts: dict[tuple[int, str], int] = {
            (program_id, status): count
            for program_id, status, count in session.execute(
                select(Invitation.program_id, Invitation.status, func.count())
                .where(Invitation.program_id.in_(ids))
                .group_by(Invitation.program_id, Invitation.status)
            )
        }
        items = [
            wire.Program(
                id=program.id,
                name=program.name,
                description=program.description,
                learners=counts.get((program.id, "accepted"), 0),
                pending=counts.get((program.id, "pending"), 0),
            )
            for (program,) in rows
        ]
        return wire.Page[wire.Program](items=items, total=total, offset=offset, limit=limit)

    @app.get("/api/v1/programs/{program_id}/contracts")
    def list_contracts(
        program_id: int, session: Db, me: Me, q: str = ""
    ) -> wire.Page[wire.Contract]:
        owned(session, Program, program_id, me, "program")
        query = (
            select(Contract)
            .join(ContractProgram, ContractProgram.contract_id == Contract.id)
            .where(ContractProgram.program_id == program_id)
            .where(Contract.organization_id == me.organization_id)
        )
        if q:
            query = query.where(Contract.name.ilike(f"%{q}%"))
        contracts = list(session.scalars(query.order_by(Contract.name)))
        items = [contract_out(session, contract, program_id) for contract in contracts]
        return wire.Page[wire.Contract](items=items, total=len(items), limit=len(items) or 1)

    @app.get("/api/v1/learners")
    def list_learners(
        session: Db,
        me: Me,
        q: str = "",
        program_id: int | None = None,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    ) -> wire.Page[wire.Learner]:
        query = select(Learner).where(Learner.organization_id == me.organization_id)
        if q:
            like = f"%{q}%"
            query = query.where(
                or_(
                    Learner.full_name.ilike(like),
                    Learner.email_key.ilike(like),
                    Learner.external_id.ilike(like),
                )
            )
        if program_id is not None:
            owned(session, Program, program_id, me, "program")
            query = query.where(
                Learner.id.in_(
                    select(Invitation.learner_id).where(Invitation.program_id == program_id)
                )
            )
        rows, total = paginate(session, query.order_by(Learner.full_name), offset, limit)
        ids = [learner.id for (learner,) in rows]
        programs: dict[int, list[wire.LearnerProgram]] = {}
        for learner_id, program_id_, name, status in session.execute(
            select(Invitation.learner_id, Invitation.program_id, Program.name, Invitation.status)
            .join(Program, Program.id == Invitation.program_id)
            .where(Invitation.learner_id.in_(ids))
            .order_by(Invitation.id)
        ):
            programs.setdefault(learner_id, []).append(
                wire.LearnerProgram.model_validate(
                    {"program_id": program_id_, "program_name": name, "status": status}
                )
            )
        items = [
            wire.Learner(
                id=learner.id,
                email=learner.email,
                full_name=learner.full_name,
                external_id=learner.external_id,
                created_at=learner.created_at,
                programs=programs.get(learner.id, []),
            )
            for (learner,) in rows
        ]
        return wire.Page[wire.Learner](items=items, total=total, offset=offset, limit=limit)

    @app.get("/api/v1/invitations")
    def list_invitations(
        session: Db,
        me: Me,
        program_id: int | None = None,
        status: wire.InvitationStatus | None = None,
        q: str = "",
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    ) -> wire.InvitationPage:
        expire_invitations(session)
        session.commit()
        query = select_invitations().where(Invitation.organization_id == me.organization_id)
        if program_id is not None:
            owned(session, Program, program_id, me, "program")
            query = query.where(Invitation.program_id == program_id)
        if status is not None:
            query = query.where(Invitation.status == status)
        if q:
            like = f"%{q}%"
            query = query.where(or_(Learner.full_name.ilike(like), Learner.email_key.ilike(like)))
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        items = invitations_out(session, query.order_by(Invitation.id).offset(offset).limit(limit))
        return wire.InvitationPage(items=items, total=total, offset=offset, limit=limit)

    @app.post("/api/v1/programs/{program_id}/invitations/check")
    def check_invitations(
        program_id: int, body: wire.CheckRequest, session: Db, me: Me
    ) -> wire.CheckResult:
        program = owned(session, Program, program_id, me, "program")
        contract = owned(session, Contract, body.contract_id, me, "contract")
        checked = check_rows(
            session, program, contract, body.rows.as_batch(), date.today(), validate=False
        )
        del body
        return wire.CheckResult(
            file_errors=checked.file_errors,
            issues=checked.issues,
            seats_left=checked.seats_left,
            ready=len(checked.ready),
            skipped=sum(checked.skipped.values()),
            errors=checked.errors,
        )

    @app.post("/api/v1/programs/{program_id}/invitations", status_code=201)
    def invite_learner(
        program_id: int, body: wire.InviteLearner, session: Db, me: Me
    ) -> wire.Invitation:
        program = owned(session, Program, program_id, me, "program")
        contract = owned(session, Contract, body.contract_id, me, "contract")
        rows = wire.RowBatch(
            row=[1], full_name=[body.full_name], email=[body.email], external_id=[body.external_id]
        )
        checked = check_rows(session, program, contract, rows, date.today())
        if checked.file_errors:
            problem = checked.file_errors[0]
            raise ApiProblem(
                409, "Cannot invite", problem.message, problem.code, checked.file_errors
            )
        errors = [issue for issue in checked.issues if issue.severity == "error"]
        skips = [
            issue for issue in checked.issues if issue.code in ("already_member", "already_invited")
        ]
        if errors or skips:
            first = (errors or skips)[0]
            raise ApiProblem(
                422 if errors else 409,
                "Cannot invite",
                first.message,
                first.code,
                [Problem(code=issue.code, message=issue.message) for issue in errors or skips],
            )
        create_invitations(session, program, contract, rows, checked, body.send_email)
        session.commit()
        wake_sender()
        invitation = session.scalars(
            select(Invitation)
            .where(Invitation.program_id == program.id)
            .order_by(Invitation.id.desc())
            .limit(1)
        ).one()
        return invitation_out(session, invitation)

    @app.post("/api/v1/imports", status_code=201)
    def start_import(
        body: wire.ImportCreate,
        session: Db,
        me: Me,
        response: Response,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> wire.ImportStatus:
        if not idempotency_key:
            raise ApiProblem(
                400,
                "Idempotency-Key required",
                "Send an Idempotency-Key header so a retried request returns the same import.",
                code="idempotency_key_required",
            )

        def by_key() -> Import | None:
            return session.scalars(
                select(Import).where(
                    Import.organization_id == me.organization_id,
                    Import.idempotency_key == idempotency_key,
                )
            ).first()

        existing = by_key()
        if existing:
            response.status_code = 200
            return import_out(session, existing)
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
        )
        session.add(record)
        try:
            session.commit()
        except IntegrityError:  # the same key, raced: return the winner
            session.rollback()
            response.status_code = 200
            winner = by_key()
            assert winner is not None
            record = winner
        return import_out(session, record)

    @app.put("/api/v1/imports/{import_id}/chunks/{seq}")
    def put_chunk(
        import_id: int, seq: int, body: wire.RowBatch, session: Db, me: Me
    ) -> dict[str, int]:
        record = owned(session, Import, import_id, me, "import")
        payload = body.model_dump_json()
        stored = session.get(ImportChunk, (import_id, seq))
        if stored is not None:
            if stored.rows != payload:
                raise ApiProblem(
                    409,
                    "Chunk conflict",
                    f"Chunk {seq} of import {import_id} was already received with other rows.",
                    code="chunk_conflict",
                )
            return {"seq": seq, "rows": len(body)}
        if record.status != "open":
            raise ApiProblem(
                409, "Import committed", "The import is committed; start a new one.",
                code="import_committed",
            )  # fmt: skip
        session.add(ImportChunk(import_id=import_id, seq=seq, rows=payload))
        try:
            session.commit()
        except IntegrityError:  # the same chunk, raced
            session.rollback()
        return {"seq": seq, "rows": len(body)}

    @app.post("/api/v1/imports/{import_id}/commit")
    def commit(import_id: int, body: wire.ImportCommit, session: Db, me: Me) -> wire.ImportStatus:
        record = owned(session, Import, import_id, me, "import")
        try:
            commit_import(session, record, body.rows, date.today())
            session.commit()
        except ImportConflict as conflict:
            session.rollback()
            errors = conflict.checked.file_errors if conflict.checked else []
            raise ApiProblem(
                409, "Import not committed", conflict.message, conflict.code, errors
            ) from None
        except IntegrityError:
            session.rollback()
            raise ApiProblem(
                409,
                "Import not committed",
                "Another import invited some of these learners at the same moment; "
                "commit again and they will be skipped.",
                code="concurrent_import",
            ) from None
        wake_sender()
        return import_out(session, record)

    @app.get("/api/v1/imports/{import_id}")
    def get_import(import_id: int, session: Db, me: Me) -> wire.ImportStatus:
        return import_out(session, owned(session, Import, import_id, me, "import"))

    @app.get("/api/v1/imports")
    def list_imports(
        session: Db,
        me: Me,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    ) -> wire.Page[wire.ImportStatus]:
        query = (
            select(Import)
            .where(Import.organization_id == me.organization_id)
            .order_by(Import.id.desc())
        )
        rows, total = paginate(session, query, offset, limit)
        items = [import_out(session, record, with_issues=False) for (record,) in rows]
        return wire.Page[wire.ImportStatus](items=items, total=total, offset=offset, limit=limit)

    @app.post("/api/v1/invitations/{invitation_id}/resend")
    def resend(invitation_id: int, session: Db, me: Me) -> wire.Invitation:
        invitation = owned(session, Invitation, invitation_id, me, "invitation")
        if invitation.status != "pending":
            raise ApiProblem(
                409, "Cannot resend", f"The invitation is {invitation.status}; only pending "
                "invitations can be sent again.", code="not_pending",
            )  # fmt: skip
        queue_emails(session, [invitation.id], utcnow())
        invitation.email_status = "queued"
        session.commit()
        wake_sender()
        return invitation_out(session, invitation)

    @app.delete("/api/v1/invitations/{invitation_id}")
    def revoke(invitation_id: int, session: Db, me: Me) -> wire.Invitation:
        invitation = owned(session, Invitation, invitation_id, me, "invitation")
        if invitation.status == "pending":
            invitation.status = "revoked"
            session.commit()
        return invitation_out(session, invitation)

    def learner_invitation(session: Session, token: str) -> tuple[Invitation, str, str]:
        found = session.execute(
            select(Invitation, Program.name, Organization.name)
            .join(Program, Program.id == Invitation.program_id)
            .join(Organization, Organization.id == Invitation.organization_id)
            .where(Invitation.token == token)
        ).first()
        if found is None:
            raise not_found("invitation")
        invitation, program, organization = found
        if invitation.status == "pending" and invitation.expires_at < utcnow():
            invitation.status = "expired"
            session.commit()
        return invitation, program, organization

    @app.get("/invitations/{token}", response_class=HTMLResponse)
    def invitation_page(token: str, session: Db) -> str:
        invitation, program, organization = learner_invitation(session, token)
        action = (
            f'<form method="post" action="/invitations/{html.escape(token)}/accept">'
            '<button type="submit">Accept the invitation</button></form>'
            if invitation.status == "pending"
            else f"<p>This invitation is {invitation.status}.</p>"
        )
        return (
            f"<!doctype html><title>Invitation to {html.escape(program)}</title>"
            f"<h1>{html.escape(organization)} invites you to {html.escape(program)}</h1>{action}"
        )

    @app.post("/invitations/{token}/accept")
    def accept(token: str, session: Db) -> JSONResponse:
        invitation, program, _ = learner_invitation(session, token)
        if invitation.status not in ("pending", "accepted"):
            raise ApiProblem(
                410, "Invitation not valid", f"The invitation is {invitation.status}.",
                code=f"invitation_{invitation.status}",
            )  # fmt: skip
        if invitation.status == "pending":
            invitation.status = "accepted"
            invitation.accepted_at = utcnow()
            session.commit()
        return JSONResponse({"status": "accepted", "program": program})

    return app
