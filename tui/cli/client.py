"""How a command talks to the service: a client of the configured service or of the embedded one
started for the command, the command run with whatever stops it told, programs and contracts
found by id or exact name, and the question asked before a change."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from tui.cli.output import Format, report_failure
from tui.outcome import Exit, Failure

if TYPE_CHECKING:
    from tui.api.client import RosterClient
    from tui.settings import Settings
    from tui.wire import models as wire

Named = TypeVar("Named", "wire.Program", "wire.Contract")


class CommandError(Failure):
    """Bad usage: a message for the admin, and exit status 2."""

    def __init__(self, message: str, code: str = "usage") -> None:
        super().__init__(code, message)


@asynccontextmanager
async def connect(settings: Settings) -> AsyncIterator[RosterClient]:
    """A client of the configured service, or of the embedded one started for this command."""
    from tui.api.client import RosterClient

    if settings.api_url:
        if not settings.token:
            raise CommandError(
                "--api-url needs a token: run `roster login --api-url URL`, or set "
                "ROSTER_TOKEN (roster admin create-admin prints one).",
                code="token_missing",
            )
        async with service_client(settings.api_url, settings.token) as client:
            yield client
        return
    from tui.cli.output import print_warning
    from tui.service.private_files import open_to_others
    from tui.service.runtime import EmbeddedService
    from tui.service.startup import check_data_dir, start_embedded

    check_data_dir(settings.data_dir)
    if warning := open_to_others(settings.data_dir):
        print_warning(warning)
    service = await asyncio.to_thread(start_embedded, EmbeddedService(settings, one_command=True))
    try:
        async with RosterClient(service.url, service.token) as client:
            yield client
    finally:
        await asyncio.to_thread(service.stop)


@asynccontextmanager
async def service_client(api_url: str, token: str) -> AsyncIterator[RosterClient]:
    """A client of the service at `api_url`; a URL httpx cannot read is a bad setting, told
    with its password masked."""
    import httpx

    from tui.api.client import RosterClient
    from tui.urls import mask_url

    try:
        client = RosterClient(api_url, token)
    except httpx.InvalidURL:
        masked = mask_url(api_url, "http")
        raise Failure(
            "bad_setting",
            f"The service URL {masked} cannot be used: expected an http:// or https:// URL.",
            setting="api_url",
            value=masked,
        ) from None
    async with client:
        yield client


def run(command: Coroutine[Any, Any, int], output: Format = "table") -> int:
    """Run a command; whatever stops it becomes a Failure told the way `output` asks."""
    from tui.api.client import ApiError, ServiceUnreachableError

    try:
        return int(asyncio.run(command))
    except Failure as failure:
        return report_failure(failure, output)
    except ApiError as error:
        from tui.wire.models import LASTING_DATABASE_CODES, STORAGE_FAULT_CODES

        problem = error.problem
        storage = problem.code in STORAGE_FAULT_CODES
        # As a bad database or schema found at start: exit 2.
        damaged = problem.code in LASTING_DATABASE_CODES
        refused = Failure(
            problem.code or f"http_{problem.status}",
            problem.detail,
            Exit.STORAGE if storage else Exit.USAGE if damaged else Exit.REFUSED,
            status=problem.status,
            seats_left=problem.seats_left,
            errors=[item.model_dump() for item in problem.errors] or None,
        )
        return report_failure(refused, output)
    except ServiceUnreachableError as error:
        unreachable = Failure("service_unreachable", str(error), Exit.UNREACHABLE, url=error.url)
        return report_failure(unreachable, output)


async def find_program(client: RosterClient, name_or_id: str) -> wire.Program:
    q = "" if name_or_id.isdigit() else name_or_id
    programs = (await client.programs(q=q)).items
    # Then the archived ones: not offered, but their history lists, and the service says why
    # they take no invitations.
    found = _named(programs, name_or_id) or _named(
        (await client.programs(q=q, archived=True)).items, name_or_id
    )
    if found is not None:
        return found
    close = ", ".join(f'"{program.name}" ({program.id})' for program in programs[:5])
    raise CommandError(
        f"No program {name_or_id!r}. "
        + (f"Did you mean {close}?" if close else "List them with: roster programs"),
        code="program_not_found",
    )


async def find_contract(
    client: RosterClient, program: wire.Program, name_or_id: str
) -> wire.Contract:
    found = _named((await client.contracts(program.id)).items, name_or_id) or _named(
        (await client.contracts(program.id, archived=True)).items, name_or_id
    )
    if found is not None:
        return found
    raise CommandError(
        f"No contract {name_or_id!r} for {program.name}. "
        f"List them with: roster contracts --program {program.id}",
        code="contract_not_found",
    )


def _named(items: list[Named], name_or_id: str) -> Named | None:
    """The program or contract of this id or exact name."""
    for item in items:
        if str(item.id) == name_or_id or item.name == name_or_id:
            return item
    return None


async def confirm(refusal: str) -> bool:
    """Ask `Continue? [y/N]` and say whether the admin answered yes. A script (standard input
    is no terminal) is never asked: it is refused with `refusal`, as it gave no --yes."""
    if not sys.stdin.isatty():
        raise CommandError(refusal)
    return (await answer("Continue? [y/N] ")).strip().lower() in ("y", "yes")


async def answer(question: str) -> str:
    """What `input(question)` returns, read while the event loop runs on: the line is read on a
    thread of its own. A daemon thread reading the descriptor itself, so that Ctrl-C, which ends
    the command, neither waits for a line that never comes nor leaves a lock held at exit."""
    sys.stdout.write(question)
    sys.stdout.flush()
    loop = asyncio.get_running_loop()
    answered: asyncio.Future[str] = loop.create_future()
    descriptor, encoding = sys.stdin.fileno(), sys.stdin.encoding or "utf-8"

    def settle(line: bytes | None) -> None:
        if answered.done():  # cancelled: the command was interrupted
            return
        if line is None:
            answered.set_exception(EOFError("EOF when reading a line"))
        else:
            answered.set_result(line.decode(encoding, "replace"))

    def read() -> None:
        line = _read_line(descriptor)
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
            loop.call_soon_threadsafe(settle, line)

    threading.Thread(target=read, name="roster-question", daemon=True).start()
    return await answered


def _read_line(descriptor: int) -> bytes | None:
    """One line without its newline; None at the end of the input before any character."""
    line = b""
    while not line.endswith(b"\n"):
        more = os.read(descriptor, 1024)
        if not more:
            return line or None
        line += more
    return line.removesuffix(b"\n")
