"""The httpx client of the /api/v1 API: one code path for the embedded and a remote service.

Requests that are safe to repeat (reads, chunk uploads, an import start with its
Idempotency-Key, the commit) are retried on connection errors and 5xx with backoff.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, RootModel

from tui.wire import models as wire

M = TypeVar("M", bound=BaseModel)
RETRIES = 5
# A response bigger than this is parsed in a thread (a dry run of a million rows answers MBs).
PARSE_IN_THREAD_ABOVE = 256_000
NDJSON = "application/x-ndjson"


class ApiError(Exception):
    """The service refused a request; `problem` says why (RFC 9457)."""

    def __init__(self, problem: wire.ProblemDetail) -> None:
        super().__init__(problem.detail)
        self.problem = problem

    @property
    def code(self) -> str | None:
        return self.problem.code


def clock() -> datetime:
    """Now, in local time: when the service last answered (pinned by pictures of the app)."""
    return datetime.now().astimezone()


class ServiceUnreachableError(Exception):
    """Nothing answered at `url` (refused, timed out, no such host) after the retries; `url`
    has its password masked, `reason` is the connection's own ("[Errno 111] Connection
    refused"), `last_answered` when the service last answered this client (None: never)."""

    def __init__(
        self,
        message: str,
        url: str,
        *,
        reason: str = "",
        last_answered: datetime | None = None,
    ) -> None:
        super().__init__(message)
        self.url = url
        self.reason = reason or message
        self.last_answered = last_answered


class RosterClient:
    def __init__(self, base_url: str, token: str, *, timeout: float = 120.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.base_url + "/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            # Plain HTTP (the embedded service on 127.0.0.1) needs no TLS context, whose
            # certificate bundle took a tenth of a second to load at every start.
            verify=self.base_url.startswith("https://"),
        )
        self.last_answered: datetime | None = None  # any answer, a refusal included

    async def __aenter__(self) -> RosterClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def _request(
        self,
        method: str,
        path: str,
        model: type[M],
        *,
        retry: bool = True,
        json: Any = None,
        content: bytes | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> M:
        params = {key: value for key, value in (params or {}).items() if value not in (None, "")}
        if content is not None:
            headers = {"Content-Type": "application/json", **(headers or {})}
        for attempt in range(RETRIES):
            try:
                response = await self._http.request(
                    method, path, json=json, content=content, params=params, headers=headers
                )
            except httpx.TransportError as error:
                if not retry or attempt + 1 >= RETRIES:
                    raise self._unreachable(error) from error
            else:
                self.last_answered = clock()
                # A 503 with Retry-After (a busy database) did nothing: any request may be sent
                # again, even one that is not idempotent.
                busy = response.status_code == 503 and "retry-after" in response.headers
                if attempt + 1 >= RETRIES or not (busy or (retry and response.status_code >= 500)):
                    break
                code = _problem(response).code
                if code in wire.STORAGE_FAULT_CODES or code in wire.LASTING_DATABASE_CODES:
                    break  # a full disk stays full: the service says what to do instead
            await asyncio.sleep(min(0.2 * 2**attempt, 5.0))
        if response.status_code >= 400:
            raise ApiError(_problem(response))
        if len(response.content) > PARSE_IN_THREAD_ABOVE:  # the app's event loop keeps running
            return await asyncio.to_thread(model.model_validate_json, response.content)
        return model.model_validate_json(response.content)

    async def me(self) -> wire.Me:
        return await self._request("GET", "/me", wire.Me)

    async def usage(self) -> wire.Usage:
        return await self._request("GET", "/usage", wire.Usage)

    async def programs(
        self, q: str = "", offset: int = 0, limit: int = 500, *, archived: bool = False
    ) -> wire.Page[wire.Program]:
        """The programs offered; with `archived`, the archived ones only."""
        return await self._request(
            "GET",
            "/programs",
            wire.Page[wire.Program],
            params={"q": q, "offset": offset, "limit": limit, **_archived(archived)},
        )

    async def contracts(
        self, program_id: int, q: str = "", *, archived: bool = False
    ) -> wire.Page[wire.Contract]:
        """The program's contracts offered; with `archived`, the archived ones only."""
        return await self._request(
            "GET",
            f"/programs/{program_id}/contracts",
            wire.Page[wire.Contract],
            params={"q": q, **_archived(archived)},
        )

    async def organization_contracts(self, *, archived: bool = False) -> wire.Page[wire.Contract]:
        """Every contract of the organization offered (a manager's: those their programs use);
        with `archived`, the archived ones only."""
        return await self._request(
            "GET", "/contracts", wire.Page[wire.Contract], params=_archived(archived)
        )

    async def policy(self) -> wire.InvitationPolicy:
        """The organization's invitation policy: the invitations' lifetime and the reminder."""
        return await self._request("GET", "/organization/policy", wire.InvitationPolicy)

    async def set_policy(self, policy: wire.InvitationPolicy) -> wire.InvitationPolicy:
        """Owners: the organization's invitation policy from now on."""
        return await self._request(
            "PUT",
            "/organization/policy",
            wire.InvitationPolicy,
            json=policy.model_dump(mode="json"),
        )

    async def edit_contract(self, contract_id: int, change: wire.ContractChange) -> wire.Contract:
        """Owners: only the fields set on `change` are sent, and change."""
        return await self._request(
            "PATCH",
            f"/contracts/{contract_id}",
            wire.Contract,
            json=change.model_dump(mode="json", exclude_unset=True),
        )

    async def edit_program(self, program_id: int, change: wire.ProgramChange) -> wire.Program:
        """Owners: only the fields set on `change` are sent, and change."""
        return await self._request(
            "PATCH",
            f"/programs/{program_id}",
            wire.Program,
            json=change.model_dump(mode="json", exclude_unset=True),
        )

    async def archive_program(self, program_id: int, *, restore: bool = False) -> wire.Program:
        """Owners: the program offered nowhere (its history kept), or back with `restore`."""
        action = "restore" if restore else "archive"
        return await self._request("POST", f"/programs/{program_id}/{action}", wire.Program)

    async def archive_contract(self, contract_id: int, *, restore: bool = False) -> wire.Contract:
        """Owners: the contract offered nowhere (its history kept), or back with `restore`."""
        action = "restore" if restore else "archive"
        return await self._request("POST", f"/contracts/{contract_id}/{action}", wire.Contract)

    async def learners(
        self, q: str = "", program_id: int | None = None, offset: int = 0, limit: int = 100
    ) -> wire.Page[wire.Learner]:
        return await self._request(
            "GET",
            "/learners",
            wire.Page[wire.Learner],
            params={"q": q, "program_id": program_id, "offset": offset, "limit": limit},
        )

    async def invitations(
        self,
        program_id: int | None = None,
        status: str | None = None,
        q: str = "",
        offset: int = 0,
        limit: int = 100,
        *,
        email_status: str | None = None,
        import_id: int | None = None,
        contract_id: int | None = None,
        pending_for_days: int | None = None,
        ids: list[int] | None = None,
    ) -> wire.InvitationPage:
        return await self._request(
            "GET",
            "/invitations",
            wire.InvitationPage,
            params={
                "program_id": program_id,
                "status": status,
                "email_status": email_status,
                "import_id": import_id,
                "contract_id": contract_id,
                "q": q,
                "pending_for_days": pending_for_days,
                "ids": ids,
                "offset": offset,
                "limit": limit,
            },
        )

    async def every_invitation(
        self,
        program_id: int | None = None,
        status: str | None = None,
        *,
        email_status: str | None = None,
        import_id: int | None = None,
    ) -> AsyncGenerator[bytes, None]:
        """Every invitation of the filter as JSON lines (a wire.Invitation each, ending in a
        newline), streamed by the service in one response and handed on as it arrives."""
        params = {
            "program_id": program_id,
            "status": status,
            "email_status": email_status,
            "import_id": import_id,
        }
        try:
            async with self._http.stream(
                "GET",
                "/invitations",
                headers={"Accept": NDJSON},
                params={key: value for key, value in params.items() if value is not None},
            ) as response:
                self.last_answered = clock()
                if response.status_code >= 400:
                    await response.aread()
                    raise ApiError(_problem(response))
                async for chunk in response.aiter_raw():
                    yield chunk
        except httpx.TransportError as error:
            raise self._unreachable(error) from error

    def _unreachable(self, error: httpx.TransportError) -> ServiceUnreachableError:
        from tui.urls import mask_url

        where = mask_url(self.base_url, "http")
        reason = _reason(error)
        return ServiceUnreachableError(
            f"Cannot reach the Roster service at {where}: "
            f"{reason}. Check the URL and that the service is running.",
            where,
            reason=reason,
            last_answered=self.last_answered,
        )

    async def bulk(self, action: str, selection: wire.InvitationSelection) -> wire.BulkResult:
        """Resend, remind or revoke (`action`) the invitations `selection` names."""
        return await self._request(
            "POST",
            f"/invitations/{action}",
            wire.BulkResult,
            json=selection.model_dump(exclude_none=True),
            retry=False,
        )

    async def imports(self, offset: int = 0, limit: int = 100) -> wire.Page[wire.ImportStatus]:
        return await self._request(
            "GET",
            "/imports",
            wire.Page[wire.ImportStatus],
            params={"offset": offset, "limit": limit},
        )

    async def invite(self, program_id: int, body: wire.InviteLearner) -> wire.Invitation:
        return await self._request(
            "POST",
            f"/programs/{program_id}/invitations",
            wire.Invitation,
            json=body.model_dump(),
            retry=False,
        )

    async def check(self, program_id: int, contract_id: int, rows: bytes) -> wire.CheckResult:
        """The dry run; `rows` as CSV (see importer.check_request_csv)."""
        return await self._request(
            "POST",
            f"/programs/{program_id}/invitations/check",
            wire.CheckResult,
            content=rows,
            params={"contract_id": contract_id},
            headers={"Content-Type": "text/csv; charset=utf-8"},
        )

    async def start_import(self, body: wire.ImportCreate, key: str) -> wire.ImportStatus:
        return await self._request(
            "POST",
            "/imports",
            wire.ImportStatus,
            json=body.model_dump(),
            headers={"Idempotency-Key": key},
        )

    async def put_chunk(self, import_id: int, seq: int, rows: bytes) -> None:
        """Chunk `seq` of the import: its rows as CSV (importer.chunk_csv)."""
        await self._request(
            "PUT",
            f"/imports/{import_id}/chunks/{seq}",
            _Ack,
            content=rows,
            headers={"Content-Type": "text/csv; charset=utf-8"},
        )

    async def commit_import(
        self, import_id: int, rows: int, unsent: wire.ImportCommit | None = None
    ) -> wire.ImportStatus:
        """Commit the import of `rows` sent rows; `unsent` says what of the file's rows was not
        sent (tui.api.importer.not_sent)."""
        body = (unsent or wire.ImportCommit(rows=rows)).model_copy(update={"rows": rows})
        return await self._request(
            "POST",
            f"/imports/{import_id}/commit",
            wire.ImportStatus,
            json=body.model_dump(exclude_defaults=True) | {"rows": rows},
        )

    async def sync_diff(self, import_id: int, rows: int) -> wire.SyncDiff:
        """What committing the sync `import_id` (its `rows` uploaded) would do; changes nothing."""
        return await self._request(
            "GET", f"/imports/{import_id}/diff", wire.SyncDiff, params={"rows": rows}
        )

    async def abandon_import(self, import_id: int) -> wire.ImportStatus:
        """Give up an import that has not committed: the service drops its rows."""
        return await self._request("DELETE", f"/imports/{import_id}", wire.ImportStatus)

    async def keep_left_out(self, import_id: int, rows: wire.LeftOutRows) -> None:
        await self._request(
            "PUT",
            f"/imports/{import_id}/left-out",
            _Ack,
            content=rows.model_dump_json().encode(),
        )

    async def left_out(self, import_id: int) -> wire.LeftOutRows:
        return await self._request("GET", f"/imports/{import_id}/left-out", wire.LeftOutRows)

    async def get_import(self, import_id: int) -> wire.ImportStatus:
        return await self._request("GET", f"/imports/{import_id}", wire.ImportStatus)

    async def revoke(self, invitation_id: int) -> wire.Invitation:
        return await self._request("DELETE", f"/invitations/{invitation_id}", wire.Invitation)

    async def members(
        self, program_id: int, q: str = "", offset: int = 0, limit: int = 100
    ) -> wire.MemberPage:
        """A page of the program's members (accepted learners), with the total."""
        return await self._request(
            "GET",
            f"/programs/{program_id}/members",
            wire.MemberPage,
            params={"q": q, "offset": offset, "limit": limit},
        )

    async def remove_members(
        self, program_id: int, selection: wire.MemberSelection
    ) -> wire.MemberRemoval:
        """End the membership of the members `selection` names (see tui.api.bulk)."""
        return await self._request(
            "POST",
            f"/programs/{program_id}/members/remove",
            wire.MemberRemoval,
            json=selection.model_dump(exclude_none=True),
            retry=False,
        )

    # The organization's admins (owners only), and a new token for oneself (anyone).

    async def admins(self) -> wire.Page[wire.AdminRecord]:
        return await self._request("GET", "/admins", wire.Page[wire.AdminRecord])

    async def add_admin(self, body: wire.AdminCreate) -> wire.AdminToken:
        # Not retried: a lost answer would have made a token nobody saw; add again instead.
        return await self._request(
            "POST", "/admins", wire.AdminToken, retry=False, json=body.model_dump()
        )

    async def change_admin(self, admin_id: int, body: wire.AdminChange) -> wire.AdminRecord:
        return await self._request(
            "PATCH",
            f"/admins/{admin_id}",
            wire.AdminRecord,
            json=body.model_dump(exclude_none=True),
        )

    async def remove_admin(self, admin_id: int) -> wire.AdminRecord:
        return await self._request("DELETE", f"/admins/{admin_id}", wire.AdminRecord)

    async def rotate_token(self, admin_id: int | None = None) -> wire.AdminToken:
        """A new token for the admin (None: for the one this client is), answered once."""
        path = "/me/token" if admin_id is None else f"/admins/{admin_id}/token"
        return await self._request("POST", path, wire.AdminToken, retry=False)

    async def audit(
        self, offset: int = 0, limit: int = 100, **filters: str | int | None
    ) -> wire.Page[wire.AuditEntry]:
        """A page of the audit record, newest first; `filters`: since, until, actor, action,
        program_id, q (None: not filtered)."""
        params = {name: value for name, value in filters.items() if value not in (None, "")}
        return await self._request(
            "GET",
            "/audit",
            wire.Page[wire.AuditEntry],
            params={**params, "offset": offset, "limit": limit},
        )

    async def audit_actions(self) -> list[str]:
        return (await self._request("GET", "/audit/actions", _Strings)).root

    async def audit_verify(self) -> wire.AuditVerdict:
        return await self._request("GET", "/audit/verify", wire.AuditVerdict)

    async def import_results(self, import_id: int) -> wire.ImportResults:
        return await self._request("GET", f"/imports/{import_id}/results", wire.ImportResults)


def _reason(error: httpx.TransportError) -> str:
    """Why the connection failed, as the system says it ("Connection refused"), rather than
    the wrapper's "All connection attempts failed"; a timeout says so."""
    if isinstance(error, httpx.TimeoutException):
        return f"no answer in time ({type(error).__name__})"
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno:
            return os.strerror(cause.errno)
        cause = cause.__cause__ or cause.__context__
    return str(error) or type(error).__name__


class _Strings(RootModel[list[str]]):
    pass


class _Ack(BaseModel):
    seq: int = 0
    rows: int


def _problem(response: httpx.Response) -> wire.ProblemDetail:
    try:
        return wire.ProblemDetail.model_validate_json(response.content)
    except ValueError:
        return wire.ProblemDetail(
            title=response.reason_phrase or "Error",
            status=response.status_code,
            detail=response.text[:500] or response.reason_phrase,
            code=f"http_{response.status_code}",
        )


def _archived(archived: bool) -> dict[str, str]:
    """The lists' `archived` parameter, sent only when asked for."""
    return {"archived": "true"} if archived else {}
