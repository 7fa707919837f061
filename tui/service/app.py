"""The service's HTTP API (DESIGN §3): the FastAPI app, wired from its routers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from sqlalchemy.orm import Session, sessionmaker

from tui.service.errors import install_error_handlers
from tui.service.mail import OutboxSender
from tui.service.routes import (
    admins,
    audit,
    catalog,
    imports,
    invitations,
    learner_pages,
    learners,
    me,
    members,
    policy,
    programs,
    syncs,
)
from tui.service.throttle import Throttles
from tui.wire import models as wire

API = "/api/v1"
# What any /api/v1 route may answer besides its result (all application/problem+json).
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": wire.ProblemDetail} for status in (400, 401, 403, 404, 422, 429, 503, 507)
}


def create_app(
    sessions: sessionmaker[Session], sender: OutboxSender | None = None, *, secret: bytes
) -> FastAPI:
    """The service over `sessions`; `sender` delivers the outbox while the app runs; `secret`
    is the secret key the learners' links are made with (tui.service.links)."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            # Last: the database's connections closed, which on SQLite folds the write-ahead
            # log into the database file (left open, the next process reads through it).
            stack.callback(sessions.kw["bind"].dispose)
            if sender is not None:
                import asyncio

                task = asyncio.create_task(sender.run())

                async def stop() -> None:
                    # Finish or release every email it holds: nothing waits for a lease.
                    await sender.stop()
                    await task

                stack.push_async_callback(stop)
            yield

    app = FastAPI(title="Roster", version="1", lifespan=lifespan)
    app.state.sessions = sessions
    app.state.sender = sender
    app.state.secret = secret
    app.state.throttles = Throttles()
    install_error_handlers(app)
    for module in (
        me,
        programs,
        learners,
        invitations,
        imports,
        syncs,
        members,
        policy,
        admins,
        catalog,
        audit,
    ):
        app.include_router(module.router, prefix=API, responses=COMMON_ERRORS)
    app.include_router(
        learner_pages.router,
        responses={status: COMMON_ERRORS[status] for status in (404, 422, 429, 503)},
    )
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's OpenAPI document, saying what the service really answers: every error is
    application/problem+json with a ProblemDetail body, validation errors included."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
    problem = {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}
    for path in schema["paths"].values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if status[0] in "45":
                    response["content"] = {"application/problem+json": problem}
    for unused in ("HTTPValidationError", "ValidationError"):
        schema["components"]["schemas"].pop(unused, None)
    app.openapi_schema = schema
    return schema
