"""Every error the service answers is application/problem+json (RFC 9457) with Roster's `code`."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

from tui.intake.report import Problem
from tui.service.db import database_busy
from tui.service.pages import from_a_browser, refusal_page
from tui.service.refusals import InviteRefused
from tui.service.storage import (
    MISSING,
    StorageFault,
    database_damaged,
    fault_message,
    storage_fault,
)
from tui.wire import models as wire

PROBLEM = "application/problem+json"
log = logging.getLogger("roster.service")
_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many attempts",
    503: "Service unavailable",
    507: "Insufficient storage",
}
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "too_many_attempts",
}


class ApiProblem(Exception):
    """Raised by a route: the problem the client gets, with its HTTP status."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        code: str,
        errors: list[Problem] | None = None,
        *,
        seats_left: int | None = None,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(detail)
        self.headers = headers
        self.extensions = extensions  # RFC 9457 extension members, beside the body's
        self.body = wire.ProblemDetail(
            title=title,
            status=status,
            detail=detail,
            code=code,
            errors=errors or [],
            seats_left=seats_left,
        )


# The largest row number (and id) a request may carry: PostgreSQL's integer.
MAX_ROW = 2**31 - 1


def unreadable_body(detail: str, shapes: str) -> ApiProblem:
    """A body a route reads itself (dry run, chunk) that is not what it takes: what is wrong,
    then what to send (`shapes`)."""
    return ApiProblem(422, "Invalid request", f"{detail}; {shapes}.", code="invalid_request")


def body_too_large(detail: str) -> ApiProblem:
    return ApiProblem(413, "Request too large", detail, code="too_large")


def first_line(error: Exception) -> str:
    """What a reader's error says, for a client: its first line, at most 300 characters."""
    return str(error).splitlines()[0][:300] if str(error) else type(error).__name__


def not_found(what: str) -> ApiProblem:
    return ApiProblem(404, "Not found", f"No such {what}.", code="not_found")


def too_many_attempts(what: str, retry_after: int) -> ApiProblem:
    """429 for a client that sent too many `what` matching nothing (see `throttle.py`)."""
    wait = "1 second" if retry_after == 1 else f"{retry_after} seconds"
    return ApiProblem(
        429,
        _TITLES[429],
        f"Too many {what} from your address matched nothing; try again in {wait}.",
        code=_CODES[429],
        headers={"Retry-After": str(retry_after)},
    )


def cannot_invite(refused: InviteRefused) -> wire.ProblemDetail:
    """One learner refused: 422 when their own data breaks a row rule, else 409 (the contract
    cannot take them, or the program already has them)."""
    return wire.ProblemDetail(
        title="Cannot invite",
        status=422 if refused.why == "row_error" else 409,
        detail=refused.message,
        code=refused.code,
        errors=refused.errors,
        seats_left=refused.seats_left,
    )


def storage_problem(
    fault: StorageFault,
    sessions: sessionmaker[Session] | Engine,
    needed: int | None = None,
    done: str = "",
) -> ApiProblem:
    """A storage fault of the database (`tui.service.storage`): its own code and status, what
    happened where, the space free and `needed` when known, what to do. Logged in one line."""
    engine = sessions if isinstance(sessions, Engine) else sessions.kw["bind"]
    message, details = fault_message(fault, engine, needed, done)
    log.error("%s: %s", fault.code, message)
    return ApiProblem(fault.status, fault.title, message, code=fault.code, extensions=details)


def problem_response(
    body: wire.ProblemDetail,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, object] | None = None,
) -> JSONResponse:
    return JSONResponse(
        {**body.model_dump(mode="json", exclude_none=True), **(extensions or {})},
        status_code=body.status,
        media_type=PROBLEM,
        headers=headers,
    )


def _problem(status: int, detail: str, code: str | None = None) -> wire.ProblemDetail:
    return wire.ProblemDetail(
        title=_TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        code=code or _CODES.get(status, "error"),
    )


def damaged_problem(damaged: str, sessions: sessionmaker[Session]) -> wire.ProblemDetail:
    """The problem of a database SQLite finds malformed or lacking part of the schema
    (`database_damaged`). A table or column missing while the schema's revision is another
    than this service's is no damage: another Roster migrated the file (or put an older one in
    its place) while this service ran, and a backup would lose what was written since."""
    if damaged.startswith(MISSING):
        from tui.service.schema import schema_state

        try:
            state = schema_state(sessions.kw["bind"])
        except Exception:  # no revision to read: the schema itself is damaged
            state = None
        if state is not None and state.current is not None and not state.up_to_date:
            schemas = f"its schema is {state.current}, this service's {state.head}"
            if state.newer:
                return _problem(
                    503,
                    f"The database was migrated by a newer Roster while this service ran "
                    f"({schemas}). Stop this service and use the newer Roster.",
                    "schema_too_new",
                )
            return _problem(
                503,
                f"The database was replaced by an older one while this service ran ({schemas}). "
                "Restart the service: it brings the database to its schema as it starts.",
                "schema_out_of_date",
            )
        what = "lacks part of Roster's schema; it was changed outside Roster"
    else:
        what = "is damaged"
    return _problem(
        500,
        f"The database {what} (SQLite: {damaged}). Restore a backup with `roster restore "
        "BACKUP`; the service log has the request that found it.",
        wire.DATABASE_DAMAGED,
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiProblem)
    async def _api_problem(request: Request, error: ApiProblem) -> Response:
        if from_a_browser(request):  # a learner's link: a page, not JSON
            return refusal_page(error.body, dict(error.headers or {}))
        return problem_response(error.body, error.headers, error.extensions)

    @app.exception_handler(InviteRefused)
    async def _invite_refused(_request: Request, refused: InviteRefused) -> JSONResponse:
        return problem_response(cannot_invite(refused))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        problem = _problem(error.status_code, str(error.detail))
        if from_a_browser(request):
            return refusal_page(problem, dict(error.headers or {}))
        return problem_response(problem, error.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        details = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors()[:20]
        )
        code = "invalid_request"
        if any(tuple(item["loc"]) == ("header", "idempotency-key") for item in error.errors()):
            code = "idempotency_key_required"
            details = (
                "Send an Idempotency-Key header (1 to 200 characters) so a retried request "
                "returns the same import."
            )
        return problem_response(_problem(422, details[:2000], code))

    async def _database(request: Request, error: Exception) -> JSONResponse:
        fault = storage_fault(error)
        if fault is not None:
            problem = storage_problem(fault, request.app.state.sessions)
            return problem_response(problem.body, extensions=problem.extensions)
        damaged = database_damaged(error)
        if damaged is not None:
            log.error("database damaged: %s", damaged)
            return problem_response(damaged_problem(damaged, request.app.state.sessions))
        if not database_busy(error):
            return await _unexpected(request, error)
        log.warning("database busy: %s", str(error).splitlines()[0][:200])
        return problem_response(
            _problem(
                503,
                "The database is busy (another import is writing); try again in a moment.",
                "database_busy",
            ),
            {"Retry-After": "1"},
        )

    # Registered by class so they answer without the server-error middleware's traceback.
    # sqlite3's own errors and OSError: a bulk commit writes through the driver, and a full
    # disk fails a file as well as the database.
    for error_class in (DBAPIError, PoolTimeoutError, sqlite3.Error, OSError):
        app.add_exception_handler(error_class, _database)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=error)
        return problem_response(
            _problem(500, "Roster hit an unexpected error; it is in the service log.", "internal")
        )
