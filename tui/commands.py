"""The commands that talk to the service: lists, import, check with the service checks, serve,
and the operator's `admin` commands. `tui.cli` parses; these run and print."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tui.api.client import ApiError, RosterClient, ServiceUnreachableError
from tui.config_file import SettingsProblem
from tui.outcome import Exit, Failure, report_failure
from tui.settings import Settings, mask_url
from tui.text import noun, plural
from tui.wire import models as wire

T = TypeVar("T")

if TYPE_CHECKING:
    from tui.api.importer import Choices
    from tui.intake import LearnerFile


class CommandError(Failure):
    """Bad usage: a message for the admin, and exit status 2."""

    def __init__(self, message: str, code: str = "usage") -> None:
        super().__init__(code, message)


@asynccontextmanager
async def connect(settings: Settings) -> AsyncIterator[RosterClient]:
    """A client of the configured service, or of the embedded one started for this command."""
    if settings.api_url:
        if not settings.token:
            raise CommandError(
                "--api-url needs a token: run `roster login --api-url URL`, or set "
                "ROSTER_TOKEN (roster admin create-admin prints one).",
                code="token_missing",
            )
        async with RosterClient(settings.api_url, settings.token) as client:
            yield client
        return
    from tui.service.runtime import EmbeddedService

    check_data_dir(settings.data_dir)
    service = await asyncio.to_thread(start_embedded, EmbeddedService(settings))
    try:
        async with RosterClient(service.url, service.token) as client:
            yield client
    finally:
        await asyncio.to_thread(service.stop)


def run(coroutine: Any, output: str = "table") -> int:
    """Run a command; whatever stops it becomes a Failure told the way `output` asks."""
    try:
        return int(asyncio.run(coroutine))
    except Failure as failure:
        return report_failure(failure, output)
    except ApiError as error:
        problem = error.problem
        refused = Failure(
            problem.code or f"http_{problem.status}",
            problem.detail,
            Exit.REFUSED,
            status=problem.status,
            seats_left=problem.seats_left,
            errors=[item.model_dump() for item in problem.errors] or None,
        )
        return report_failure(refused, output)
    except ServiceUnreachableError as error:
        unreachable = Failure("service_unreachable", str(error), Exit.UNREACHABLE, url=error.url)
        return report_failure(unreachable, output)


def check_data_dir(path: Path) -> None:
    """The data directory can hold Roster's database: a directory we can write, or creatable."""
    where = "Choose another with --data-dir or ROSTER_DATA_DIR."
    if path.exists() and not path.is_dir():
        raise Failure(
            "bad_data_dir",
            f"The data directory {path} is a file, not a directory. {where}",
            path=str(path),
        )
    existing = next((parent for parent in (path, *path.parents) if parent.exists()), None)
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        raise Failure(
            "bad_data_dir",
            f"Roster cannot write in {existing}, so it cannot keep its data in {path}. "
            f"Give yourself write access, or {where[0].lower() + where[1:]}",
            path=str(path),
        )


def start_embedded(service: Any) -> Any:
    """Start the embedded service; a damaged or foreign database is a Failure naming it."""
    from sqlalchemy.exc import DatabaseError

    from tui.service.schema import SchemaMismatch

    try:
        return service.start()
    except SchemaMismatch as mismatch:
        raise schema_failure(mismatch, service.settings.resolved_database_url()) from None
    except DatabaseError as error:
        database = service.settings.resolved_database_url()
        reason = str(error.orig or error).splitlines()[0]
        if not database.startswith("sqlite:///"):
            raise Failure(
                "bad_database",
                f"Cannot use the database {mask_url(database)}: {reason}.",
                database=mask_url(database),
            ) from None
        path = database.removeprefix("sqlite:///")
        raise Failure(
            "bad_database",
            f"{path} is not a Roster database, or it is damaged ({reason}). Move it aside and "
            "Roster starts a new one, or restore it from a backup.",
            path=path,
        ) from None
    except ValueError as error:  # a mail URL or sender the service cannot use
        raise Failure("bad_setting", str(error)) from None
    except SettingsProblem as problem:  # no usable secret key
        raise Failure("bad_setting", problem.message, **problem.details) from None
    except OSError as error:
        raise Failure(
            "bad_data_dir",
            f"Cannot use the data directory {service.settings.data_dir}: {error.strerror}.",
            path=str(service.settings.data_dir),
        ) from None


async def find_program(client: RosterClient, name_or_id: str) -> wire.Program:
    programs = (await client.programs(q="" if name_or_id.isdigit() else name_or_id)).items
    for program in programs:
        if str(program.id) == name_or_id or program.name == name_or_id:
            return program
    close = ", ".join(f'"{program.name}" ({program.id})' for program in programs[:5])
    raise CommandError(
        f"No program {name_or_id!r}. "
        + (f"Did you mean {close}?" if close else "List them with: roster programs"),
        code="program_not_found",
    )


async def find_contract(
    client: RosterClient, program: wire.Program, name_or_id: str
) -> wire.Contract:
    contracts = (await client.contracts(program.id)).items
    for contract in contracts:
        if str(contract.id) == name_or_id or contract.name == name_or_id:
            return contract
    raise CommandError(
        f"No contract {name_or_id!r} for {program.name}. "
        f"List them with: roster contracts --program {program.id}",
        code="contract_not_found",
    )


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [
        max([len(header), *(len(row[i]) for row in cells)]) for i, header in enumerate(headers)
    ]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in cells:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def print_json(value: Any) -> None:
    print(json.dumps(value, default=str))


async def list_programs(settings: Settings, output: str) -> int:
    async with connect(settings) as client:
        programs = (await client.programs()).items
    if output == "json":
        print_json({"items": [program.model_dump() for program in programs]})
    else:
        print_table(
            ["ID", "PROGRAM", "LEARNERS", "PENDING"],
            [[p.id, p.name, p.learners, p.pending] for p in programs],
        )
    return Exit.OK


async def list_contracts(settings: Settings, program_ref: str, output: str) -> int:
    async with connect(settings) as client:
        program = await find_program(client, program_ref)
        contracts = (await client.contracts(program.id)).items
    if output == "json":
        print_json({"items": [contract.model_dump(mode="json") for contract in contracts]})
    else:
        print_table(
            ["ID", "CONTRACT", "SEATS LEFT", "DATES", "AVAILABLE"],
            [
                [
                    c.id,
                    c.name,
                    "unlimited" if c.seats_total is None else f"{c.seats_left} of {c.seats_total}",
                    f"{c.starts_on or '…'} – {c.ends_on or '…'}",
                    "yes" if c.available else f"no: {c.unavailable_reason}",
                ]
                for c in contracts
            ],
        )
    return Exit.OK


async def list_invitations(
    settings: Settings,
    program_ref: str | None,
    status: str | None,
    output: str,
    *,
    email_status: str | None = None,
    import_id: int | None = None,
) -> int:
    """Every invitation of the filter, streamed by the service. JSON goes out as it comes in,
    never parsed here: a million invitations in seconds, and memory stays small."""
    out = sys.stdout.buffer
    total = 0
    rows: list[list[object]] = []
    rest = b""
    async with connect(settings) as client:
        program = await find_program(client, program_ref) if program_ref else None
        chunks = client.every_invitation(
            program.id if program else None,
            status,
            email_status=email_status,
            import_id=import_id,
        )
        if output == "json":
            sys.stdout.flush()
            out.write(b'{"items": [')
        async with contextlib.aclosing(chunks):  # closed here, even when the reader went away
            async for chunk in chunks:
                total += chunk.count(b"\n")
                if output == "json":
                    # Lines become array items: each newline a comma, the last one held back.
                    text = rest + chunk
                    out.write(text[:-1].replace(b"\n", b","))
                    rest = text[-1:]
                    continue
                *lines, rest = (rest + chunk).split(b"\n")
                for line in lines:
                    i = wire.Invitation.model_validate_json(line)
                    created, problem = f"{i.created_at:%Y-%m-%d}", (i.email_error or "")[:60]
                    rows.append(
                        [i.id, i.full_name, i.email, i.status, i.email_status, created, problem]
                    )
    if output == "json":
        out.write(rest.replace(b"\n", b"") + b'], "total": %d}\n' % total)
        out.flush()
        return Exit.OK
    print_table(
        ["ID", "LEARNER", "EMAIL", "STATUS", "EMAIL STATUS", "CREATED", "EMAIL PROBLEM"], rows
    )
    print(plural(total, "invitation"))
    return Exit.OK


async def act_on_invitations(
    settings: Settings,
    action: str,
    ids: list[int],
    program_ref: str | None,
    status: str | None,
    email_status: str | None,
    *,
    import_id: int | None = None,
    pending_for_days: int | None = None,
    yes: bool,
    output: str,
) -> int:
    """Resend, remind or revoke invitations by id or by filter, after saying how many and
    asking."""
    async with connect(settings) as client:
        program = await find_program(client, program_ref) if program_ref else None
        selection = wire.InvitationSelection.model_validate(
            {
                "ids": ids or None,
                "program_id": program.id if program else None,
                "status": status,
                "email_status": email_status,
                "import_id": import_id,
                "pending_for_days": pending_for_days,
            }
        )
        if not ids:
            count = (
                await client.invitations(
                    program.id if program else None,
                    status,
                    limit=1,
                    email_status=email_status,
                    import_id=import_id,
                    pending_for_days=pending_for_days,
                )
            ).total
        else:
            count = len(ids)
        what = {
            "resend": "a new email and a renewed expiry for",
            "remind": f"a reminder (emailed {pending_for_days} days ago or more) to",
            "revoke": "revoke",
        }[action]
        print(
            f"{action.capitalize()}: {what} {plural(count, 'invitation')} (pending ones only).",
            file=sys.stderr,
        )
        if not yes:
            if not sys.stdin.isatty():
                raise CommandError(f"add --yes to {action} without asking.")
            if input("Continue? [y/N] ").strip().lower() not in ("y", "yes"):
                print("Nothing was changed.", file=sys.stderr)
                return Exit.USAGE
        result = await client.bulk(action, selection)
    if output == "json":
        print_json(result.model_dump(exclude_none=True))  # last_id: only for batches
    else:
        left = ", ".join(f"{n:,} {code.replace('_', ' ')}" for code, n in result.left.items())
        print(
            f"{result.changed:,} of {result.matched:,} {noun(result.matched, 'invitation')} "
            f"{ {'resend': 'resent', 'remind': 'reminded', 'revoke': 'revoked'}[action] }"
            + (f"; left as they were: {left}." if left else ".")
        )
    return Exit.OK


async def list_imports(
    settings: Settings, import_id: int | None, output: str, *, left_out: Path | None = None
) -> int:
    """The import history, or one import with its counts and its rows with issues; with
    `left_out`, its rows not invited saved there (never over an existing file)."""
    async with connect(settings) as client:
        if import_id is not None:
            record = await client.get_import(import_id)
            if left_out is not None:
                await _save_left_out(client, import_id, left_out)
            if output == "json":
                print_json(record.model_dump(mode="json"))
            else:
                _print_import(record)
            return Exit.OK
        records: list[wire.ImportStatus] = []
        while True:
            page = await client.imports(offset=len(records), limit=500)
            records += page.items
            if len(records) >= page.total or not page.items:
                break
    if output == "json":
        print_json(
            {"items": [record.model_dump(mode="json") for record in records], "total": len(records)}
        )
        return Exit.OK
    print_table(
        [
            "ID",
            "WHEN",
            "FILE",
            "STATUS",
            "ROWS",
            "INVITED",
            "SKIPPED",
            "ERRORS",
            "EMAILS SENT",
            "FAILED",
            "QUEUED",
        ],
        [
            [
                r.id,
                f"{r.created_at.astimezone():%Y-%m-%d %H:%M}",
                r.file_name or "-",
                r.status,
                r.rows,
                r.invited,
                sum(r.skipped.values()),
                r.errors,
                r.emails_sent,
                r.emails_failed,
                r.emails_queued - r.emails_sent - r.emails_failed,
            ]
            for r in records
        ],
    )
    return Exit.OK


async def _save_left_out(client: RosterClient, import_id: int, path: Path) -> None:
    import polars as pl

    from tui.intake.export import write_rows_with_errors

    rows = await client.left_out(import_id)
    try:
        write_rows_with_errors(pl.DataFrame(rows.model_dump()), path)
    except FileExistsError:
        raise Failure(
            "file_exists",
            f"{path} is there already; Roster does not write over a file. Name another one.",
            path=str(path),
        ) from None
    except OSError as error:
        raise Failure(
            "cannot_write", f"Cannot write {path}: {error.strerror}.", path=str(path)
        ) from None
    print(f"{plural(len(rows), 'row')} left out saved to {path}", file=sys.stderr)


def _print_import(record: wire.ImportStatus) -> None:
    print(
        f"Import {record.id}: {record.status}, {record.file_name or 'no file name'}, "
        f"started {record.created_at.astimezone():%Y-%m-%d %H:%M}"
    )
    skipped = ", ".join(f"{count:,} {code}" for code, count in record.skipped.items()) or "none"
    print(
        f"  rows {record.rows:,} · invited {record.invited:,} · skipped {skipped} · "
        f"rows with errors {record.errors:,}"
    )
    print(
        f"  emails: {record.emails_sent:,} sent, {record.emails_failed:,} failed, "
        f"{record.emails_retrying:,} retrying of {record.emails_queued:,}"
    )
    if record.email_problem:
        print(f"  mail server's last answer: {record.email_problem}")
    for issue in record.issues:
        print(f"  row {issue.row}: {issue.severity} {issue.code}: {issue.message}")


def read_in_background(read: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    """`read(*args)` in a thread from now on. (asyncio.to_thread would start it only at the
    loop's next turn: after the embedded service's modules, 0.5 s of imports, had loaded.)"""
    return asyncio.get_running_loop().run_in_executor(None, read, *args)


async def file_and_target(
    client: RosterClient, reading: asyncio.Future[LearnerFile], program_ref: str, contract_ref: str
) -> tuple[LearnerFile, tuple[wire.Program, wire.Contract] | None]:
    """The file being `read_in_background`, and the program and contract it is for, looked up
    while it is read (at a million invitations, their counts take 0.3 s). No program and
    contract when the file has file errors: they come first, and the lookup is not needed."""

    async def target() -> tuple[wire.Program, wire.Contract]:
        program = await find_program(client, program_ref)
        return program, await find_contract(client, program, contract_ref)

    finding = asyncio.create_task(target())
    learner_file = await reading
    if learner_file.summary.file_errors:
        finding.cancel()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await finding
        return learner_file, None
    return learner_file, await finding


async def check_with_service(
    settings: Settings, path: Path, program_ref: str, contract_ref: str, output: str
) -> int:
    from tui.api.importer import dry_run
    from tui.intake import read_learner_file
    from tui.intake.render import Style, render_report, use_color

    reading = read_in_background(read_learner_file, path, settings.limits)
    async with connect(settings) as client:
        learner_file, target = await file_and_target(client, reading, program_ref, contract_ref)
        if target:
            program, contract = target
            learner_file = await dry_run(client, learner_file, program, contract.id)
    if output == "json":
        sys.stdout.flush()
        learner_file.write_report_json(sys.stdout.buffer)
    else:
        sys.stdout.write(render_report(learner_file, Style(use_color(sys.stdout))))
    return learner_file.summary.exit_code


async def import_file(
    settings: Settings,
    path: Path,
    program_ref: str,
    contract_ref: str,
    *,
    choices: Choices,
    yes: bool,
    output: str,
) -> int:
    from tui.api.importer import (
        dry_run,
        email_phase,
        failed_emails,
        failures_text,
        keep_left_out,
        ready_rows,
        retry_command,
        run_import,
        wait_for_emails,
    )
    from tui.intake import read_learner_file
    from tui.intake.render import Style, use_color

    style = Style(use_color(sys.stderr))
    reading = read_in_background(read_learner_file, path, settings.limits)
    async with connect(settings) as client:
        learner_file, target = await file_and_target(client, reading, program_ref, contract_ref)
        if not target:
            return _not_started(learner_file, output, style, Exit.USAGE)
        program, contract = target
        checked = await dry_run(client, learner_file, program, contract.id)
        report = checked.summary
        if report.file_errors:
            # The file was fine; the service refused it (seats, contract dates).
            return _not_started(
                checked, output, style, Exit.REFUSED, seats_left=contract.seats_left
            )
        emails = "send invitation emails" if choices.send_emails else "send no emails"
        summary = (
            f"Invite {plural(report.ready, 'learner')} to {program.name} under {contract.name}, "
            f"and {emails}"
            + (" with your message" if choices.message and choices.send_emails else "")
            + f". {report.skipped:,} skipped, {plural(report.errors, 'row')} with errors left out."
        )
        differ = report.differing
        if differ:
            summary += (
                f" {plural(differ, 'stored learner')} {'has' if differ == 1 else 'have'} another "
                "Full Name or External ID in the file: "
                + (
                    "they take the file's."
                    if choices.update_learners
                    else "the stored values stay (--update-learners gives them the file's)."
                )
            )
        print(summary, file=sys.stderr)
        if not yes:
            if not sys.stdin.isatty():
                raise CommandError("add --yes to import without asking.")
            if input("Continue? [y/N] ").strip().lower() not in ("y", "yes"):
                print("Nothing was imported.", file=sys.stderr)
                return Exit.USAGE
        with _progress() as progress:
            upload = progress.add_task("Uploading", total=report.ready)
            status = await run_import(
                client,
                ready_rows(learner_file),
                program_id=program.id,
                contract_id=contract.id,
                choices=choices,
                file_name=path.name,
                on_upload=lambda done, total: progress.update(upload, completed=done, total=total),
            )
            try:  # kept for `roster imports show ID --left-out FILE`; the import stands anyway
                await keep_left_out(client, learner_file, status)
            except ApiError as error:
                print(
                    f"roster: the rows left out were not kept with the import: {error}",
                    file=sys.stderr,
                )
            if status.emails_queued:
                mail = progress.add_task("Sending emails", total=status.emails_queued)
                status = await wait_for_emails(
                    client,
                    status,
                    lambda now: progress.update(
                        mail,
                        description=email_phase(now),
                        completed=now.emails_sent + now.emails_failed,
                        total=now.emails_queued,
                    ),
                )
        failed = await failed_emails(client, status)
    errors = report.errors
    result: dict[str, Any] = {
        "import_id": status.id,
        "status": status.status,
        "rows": report.rows,
        "invited": status.invited,
        "skipped": sum(status.skipped.values()),
        "errors": errors,
        "emails_sent": status.emails_sent,
        "emails_failed": status.emails_failed,
    }
    if failed:
        result["failed_emails"] = [
            {"invitation_id": item.id, "email": item.email, "reason": item.email_error}
            for item in failed
        ]
        result["retry"] = retry_command(status)
    if output == "json":
        print_json(result)
    else:
        print(
            f"Import {status.id} complete: {plural(status.invited, 'invitation')} created, "
            f"{plural(status.emails_sent, 'email')} sent"
            + (f", {status.emails_failed:,} failed" if status.emails_failed else "")
            + f"; {result['skipped']:,} skipped, {plural(errors, 'row')} with errors left out."
        )
        if failed:
            print("Emails that failed:")
            for line in failures_text(status, failed):
                print(f"  {line}")
    return Exit.ROW_ERRORS if errors or status.emails_failed else Exit.OK


def _not_started(checked: Any, output: str, style: Any, exit_code: Exit, **details: Any) -> int:
    """An import refused before anything was sent: the report on stderr, and with JSON one
    document holding the counts and the first file error as `error`."""
    from tui.intake.render import render_report

    sys.stderr.write(render_report(checked, style))
    report = checked.summary
    if output == "json":
        first = report.file_errors[0]
        error = Failure(first.code, first.message, exit_code, **details).document()
        print_json({"import_id": None, "status": "not_started", **_counts(report), **error})
    return int(exit_code)


def _counts(report: Any) -> dict[str, int]:
    return {
        "rows": report.rows,
        "invited": 0,
        "skipped": report.skipped,
        "errors": report.errors,
        "emails_sent": 0,
        "emails_failed": 0,
    }


def _progress() -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(
        TextColumn("{task.description:<26}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=False,
    )


def schema_failure(mismatch: Any, url: str) -> Failure:
    """A database whose schema this Roster does not run on: what to do, password masked."""
    state, database = mismatch.state, mask_url(url)
    details = {"database": database, "revision": state.current, "head": state.head}
    if state.newer:
        return Failure(
            "schema_too_new",
            f"The database {database} was migrated by a newer Roster (schema {state.current}; "
            f"this Roster knows up to {state.head}). Run that version of Roster or a newer one.",
            **details,
        )
    found = f"is at schema {state.current}" if state.current else "has no Roster schema yet"
    return Failure(
        "schema_out_of_date",
        f"The database {database} {found}; this Roster needs {state.head}. Bring it up to date "
        f"first: roster migrate --database-url {database}",
        **details,
    )


@contextlib.contextmanager
def database_failures(url: str) -> Iterator[None]:
    """A database Roster cannot use, or whose schema it does not run on, ends the command with
    a Failure naming it (password masked), never a traceback."""
    from sqlalchemy.exc import ArgumentError, DBAPIError

    from tui.service.schema import SchemaMismatch

    database = mask_url(url)
    try:
        yield
    except SchemaMismatch as mismatch:
        raise schema_failure(mismatch, url) from None
    except DBAPIError as error:
        reason = str(error.orig or error).strip().splitlines()[0]
        raise Failure(
            "bad_database", f"Cannot use the database {database}: {reason}.", database=database
        ) from None
    except ArgumentError as error:
        raise Failure(
            "bad_setting",
            f"The database URL {database} is not usable: {error}.",
            setting="database_url",
            value=database,
        ) from None


def serve(settings: Settings, host: str, port: int, *, with_sender: bool = True) -> int:
    import logging

    import uvicorn

    from tui.service.runtime import MaskInvitationTokens, build_service, log_service_to

    log_service_to(logging.StreamHandler(sys.stderr))
    logging.getLogger("uvicorn.access").addFilter(MaskInvitationTokens())
    url = settings.resolved_database_url()
    try:
        with database_failures(url):
            app, _ = build_service(settings, with_sender=with_sender)
    except ValueError as error:  # a mail URL or sender that cannot be used
        raise Failure("bad_setting", str(error)) from None
    except SettingsProblem as problem:  # no usable secret key
        raise Failure("bad_setting", problem.message, **problem.details) from None
    mail = (
        f"mail {mask_url(settings.resolved_mail_url())}"
        if with_sender
        else "no sender: mail waits in the outbox for `roster worker`"
    )
    print(f"Roster service on http://{host}:{port} (database {mask_url(url)}, {mail})", flush=True)
    # The client is the connection's address: a forwarded header from a local process must not
    # let it dodge the guessing throttle.
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)
    return Exit.OK


def worker(settings: Settings, lease: float) -> int:
    """Deliver the outbox until SIGTERM or SIGINT, with no HTTP: mail for API replicas that run
    no sender (`roster serve --no-sender`)."""
    import logging

    from tui.service.db import open_database
    from tui.service.runtime import log_service_to, open_sender, secret_key
    from tui.service.schema import migrates_on_open
    from tui.service.worker import POLL_INTERVAL, run_worker

    log_service_to(logging.StreamHandler(sys.stderr))
    url = settings.resolved_database_url()
    with database_failures(url):
        sessions = open_database(url, migrate=migrates_on_open(url))
    try:
        secret = secret_key(settings)
        sender = open_sender(settings, sessions, secret, lease=lease, poll_interval=POLL_INTERVAL)
    except ValueError as error:  # a mail URL or sender that cannot be used
        sessions.kw["bind"].dispose()
        raise Failure("bad_setting", str(error)) from None
    except SettingsProblem as problem:  # no usable secret key
        sessions.kw["bind"].dispose()
        raise Failure("bad_setting", problem.message, **problem.details) from None
    print(
        f"Roster mail worker {sender.holder} (database {mask_url(url)}, mail "
        f"{mask_url(settings.resolved_mail_url())})",
        flush=True,
    )
    try:
        asyncio.run(run_worker(sender))
    finally:
        sessions.kw["bind"].dispose()
    print("Roster mail worker stopped.", file=sys.stderr, flush=True)
    return Exit.OK


# `roster migrate` waits this long for a lock (another migration, a long transaction) before
# giving up: a migration is rare, and worth waiting for.
MIGRATION_LOCK_TIMEOUT = 60.0


def migrate(settings: Settings, output: str) -> int:
    """Bring the database to this Roster's newest schema and say what was done."""
    from tui.service.db import make_engine
    from tui.service.schema import migrate as upgrade

    url = settings.resolved_database_url()
    if not settings.database_url:
        check_data_dir(settings.data_dir)
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with database_failures(url):
        engine = make_engine(url, lock_timeout=MIGRATION_LOCK_TIMEOUT)
        try:
            done = upgrade(engine)
        finally:
            engine.dispose()
    database = mask_url(url)
    if output == "json":
        print_json(
            {
                "database": database,
                "from": done.before,
                "to": done.after,
                "applied": [{"id": r.id, "title": r.title} for r in done.applied],
            }
        )
        return Exit.OK
    if not done.applied:
        print(f"The database {database} is at the newest schema ({done.after}): nothing to do.")
        return Exit.OK
    start = f"from schema {done.before}" if done.before else "from an empty database"
    print(f"Migrated {database} {start} to {done.after}, {plural(len(done.applied), 'migration')}:")
    for revision in done.applied:
        print(f"  {revision.id}  {revision.title}")
    return Exit.OK


def admin(settings: Settings, action: str, options: Any) -> int:
    from sqlalchemy.exc import DatabaseError, IntegrityError

    from tui.service import admin as operator
    from tui.service.db import open_database, write_session
    from tui.service.schema import migrates_on_open

    output = options.format
    try:
        if not options.database_url:
            check_data_dir(settings.data_dir)
            settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        url = settings.resolved_database_url()
        with database_failures(url):
            sessions = open_database(url, migrate=migrates_on_open(url))
        with write_session(sessions) as session, session.begin():
            created = _admin_action(session, operator, action, options)
    except (operator.NotFoundError, operator.InvalidInput) as error:
        code = "not_found" if isinstance(error, operator.NotFoundError) else "invalid_input"
        return report_failure(Failure(code, str(error)), output)
    except IntegrityError:
        name = getattr(options, "name", None) or getattr(options, "email", "")
        return report_failure(Failure("already_exists", f"{name} already exists."), output)
    except DatabaseError as error:
        database = mask_url(settings.resolved_database_url())
        reason = str(error.orig).splitlines()[0] if error.orig else str(error)
        failure = Failure(
            "bad_database", f"Cannot use the database {database}: {reason}.", database=database
        )
        return report_failure(failure, output)
    if output == "json":
        print_json(created)
    else:
        for key, value in created.items():
            print(f"{key}: {value}")
        if "token" in created:
            print("Keep the token: it is shown only once.", file=sys.stderr)
    return Exit.OK


def _admin_action(session: Any, operator: Any, action: str, options: Any) -> dict[str, Any]:
    if action == "create-org":
        organization = operator.create_organization(session, options.name)
        return {"id": organization.id, "name": organization.name}
    organization = operator.find_organization(session, options.org)
    if action == "set-sender-name":
        operator.set_sender_name(organization, options.name)
        return {
            "id": organization.id,
            "name": organization.name,
            "sender_name": organization.sender_name,
        }
    if action == "create-admin":
        admin_, token = operator.create_admin(session, organization, options.email)
        return {
            "id": admin_.id,
            "email": admin_.email,
            "token": token,
            "organization_id": organization.id,
        }
    if action == "create-program":
        program = operator.create_program(session, organization, options.name)
        return {"id": program.id, "name": program.name}
    program = operator.find_program(session, organization.id, options.program)
    contract = operator.create_contract(
        session,
        organization,
        options.name,
        [program],
        seats=options.seats,
        starts_on=options.starts,
        ends_on=options.ends,
    )
    return {
        "id": contract.id,
        "name": contract.name,
        "seats_total": contract.seats,
        "starts_on": contract.starts_on,
        "ends_on": contract.ends_on,
    }


async def login(settings: Settings, api_url: str) -> int:
    """Ask for the token, check it with the service, keep both in the config file (0600)."""
    import getpass

    from tui.config_file import CONFIG_FILE
    from tui.settings import update_config_file

    if sys.stdin.isatty():
        token = getpass.getpass(f"Admin token for {api_url}: ").strip()
    else:
        token = sys.stdin.readline().strip()
    if not token:
        raise CommandError("No token given: paste the admin token when asked, or pipe it in.")
    async with RosterClient(api_url, token) as client:
        me = await client.me()
    update_config_file({"api_url": api_url, "token": token})
    print(
        f"Logged in to {api_url} as {me.admin_email} ({me.organization.name}); kept in "
        f"{CONFIG_FILE}.",
        file=sys.stderr,
    )
    return Exit.OK


def logout() -> int:
    from tui.config_file import CONFIG_FILE
    from tui.settings import update_config_file

    update_config_file({"api_url": None, "token": None})
    print(f"Forgot the service's URL and token ({CONFIG_FILE}).", file=sys.stderr)
    return Exit.OK


def show_config(settings: Settings, options: Any, output: str) -> int:
    """Every resolved setting, where it came from, secrets masked."""
    from tui.config_file import source_of
    from tui.settings import shown

    flags = {name for name in ("api_url", "token", "data_dir") if name in vars(options)}
    rows = [
        {
            "setting": name,
            "value": shown(name, getattr(settings, name)),
            "source": source_of(name, dict.fromkeys(flags)),
        }
        for name in type(settings).model_fields
    ]
    if output == "json":
        print_json({"items": rows})
    else:
        print_table(["SETTING", "VALUE", "FROM"], [list(row.values()) for row in rows])
    return Exit.OK
