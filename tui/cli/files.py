"""The commands on a learner file: `roster template` writes one, `roster check` reports every
problem in one, `roster import` invites its ready learners."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from tui.cli.options import BadArguments, batch_settings, intake_limits
from tui.cli.output import Format, output_of, print_json, print_report
from tui.outcome import Exit, Failure
from tui.text import plural

if TYPE_CHECKING:
    import asyncio

    from rich.progress import Progress

    from tui.api.client import RosterClient
    from tui.api.importer import Choices
    from tui.intake import LearnerFile
    from tui.intake.render import Style
    from tui.intake.report import Report
    from tui.settings import Settings
    from tui.wire import models as wire

T = TypeVar("T")


def template(options: argparse.Namespace) -> int:
    from tui.intake.template import TEMPLATE, TemplateExistsError, write_template

    path: str = options.path
    if path == "-":
        sys.stdout.buffer.write(TEMPLATE.encode("ascii"))
        return Exit.OK
    try:
        written = write_template(Path(path), overwrite=options.force)
    except TemplateExistsError as error:
        print(
            f"roster: {error.args[0]} already exists; choose another path or add --force "
            "to replace it.",
            file=sys.stderr,
        )
        return Exit.USAGE
    except OSError as error:
        print(f"roster: cannot write {path}: {error.strerror}.", file=sys.stderr)
        return Exit.USAGE
    print(f"Wrote the template to {written}.")
    print(f"Fill in one row per learner, then run: roster check {written}")
    return Exit.OK


def check(options: argparse.Namespace) -> int:
    """The file alone, or with --program and --contract the service's checks too."""
    output = output_of(options)
    columns = column_choices(options)
    if not (options.program or options.contract):
        exit_now(check_alone(options.file, output, columns))
    if not (options.program and options.contract):
        raise BadArguments("check needs both --program and --contract, or neither")
    from tui.cli.client import run

    settings = batch_settings(options)
    return run(
        check_with_service(
            settings, options.file, options.program, options.contract, output, columns
        ),
        output,
    )


def column_choices(options: argparse.Namespace) -> dict[str, str]:
    """The fields' columns the --column options name (field header -> the file's header)."""
    from tui.intake.columns import ColumnChoiceError, parse_column_options

    try:
        return parse_column_options(options.column)
    except ColumnChoiceError as error:
        raise BadArguments(str(error)) from None


def check_alone(path: Path, output: Format, columns: dict[str, str]) -> int:
    from tui.memory import configure_batch_allocator

    configure_batch_allocator()
    from tui.intake import read_learner_file

    learner_file = read_learner_file(path, intake_limits(), columns)
    return print_report(learner_file, output)


def exit_now(code: int) -> NoReturn:
    """Exit without tearing down the interpreter: freeing a million-row frame and unloading
    polars takes longer than checking 100,000 rows, and a finished check holds nothing to save."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


async def check_with_service(
    settings: Settings,
    path: Path,
    program_ref: str,
    contract_ref: str,
    output: Format,
    columns: dict[str, str],
) -> int:
    from tui.api.importer import dry_run
    from tui.cli.client import connect
    from tui.intake import read_learner_file

    reading = read_in_background(read_learner_file, path, settings.limits, columns)
    async with connect(settings) as client:
        learner_file, target = await file_and_target(client, reading, program_ref, contract_ref)
        if target:
            program, contract = target
            learner_file = await dry_run(client, learner_file, program, contract.id)
    return print_report(learner_file, output)


def read_in_background(read: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    """`read(*args)` in a thread from now on. (asyncio.to_thread would start it only at the
    loop's next turn: after the embedded service's modules, 0.5 s of imports, had loaded.)"""
    import asyncio

    return asyncio.get_running_loop().run_in_executor(None, read, *args)


async def file_and_target(
    client: RosterClient, reading: asyncio.Future[LearnerFile], program_ref: str, contract_ref: str
) -> tuple[LearnerFile, tuple[wire.Program, wire.Contract] | None]:
    """The file being `read_in_background`, and the program and contract it is for, looked up
    while it is read (at a million invitations, their counts take 0.3 s). No program and
    contract when the file has file errors: they come first, and the lookup is not needed."""
    import asyncio
    import contextlib

    from tui.cli.client import find_contract, find_program

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


def import_file(options: argparse.Namespace) -> int:
    """Invite the ready learners of a file: check, upload, commit, send."""
    settings = batch_settings(options)  # before polars is imported
    from tui.api.importer import Choices
    from tui.cli.client import run
    from tui.wire.models import MAX_MESSAGE

    output = output_of(options)
    columns = column_choices(options)
    message = (options.message or "").strip() or None
    if message and len(message) > MAX_MESSAGE:
        raise Failure(
            "usage",
            f"--message has {len(message):,} characters; shorten it to {MAX_MESSAGE:,} or fewer.",
        )
    choices = Choices(
        send_emails=options.send, message=message, update_learners=options.update_learners
    )
    return run(
        invite_from_file(
            settings,
            options.file,
            options.program,
            options.contract,
            choices=choices,
            yes=options.yes,
            output=output,
            columns=columns,
        ),
        output,
    )


async def invite_from_file(
    settings: Settings,
    path: Path,
    program_ref: str,
    contract_ref: str,
    *,
    choices: Choices,
    yes: bool,
    output: Format,
    columns: dict[str, str],
) -> int:
    from tui.api.importer import dry_run, failed_emails
    from tui.cli.client import confirm, connect
    from tui.intake import read_learner_file
    from tui.intake.render import Style, use_color

    style = Style(use_color(sys.stderr))
    reading = read_in_background(read_learner_file, path, settings.limits, columns)
    async with connect(settings) as client:
        learner_file, target = await file_and_target(client, reading, program_ref, contract_ref)
        if not target:
            return not_started(learner_file, output, style, Exit.USAGE)
        program, contract = target
        checked = await dry_run(client, learner_file, program, contract.id)
        report = checked.summary
        if report.file_errors:
            # The file was fine; the service refused it (seats, contract dates).
            return not_started(checked, output, style, Exit.REFUSED, seats_left=contract.seats_left)
        if report.columns:
            from tui.intake.render import describe_columns

            print(describe_columns(report), file=sys.stderr)
        print(what_import_does(report, program, contract, choices), file=sys.stderr)
        if not yes and not await confirm("add --yes to import without asking."):
            print("Nothing was imported.", file=sys.stderr)
            return Exit.USAGE
        status = await upload_and_send(client, learner_file, program, contract, choices, path.name)
        failed = await failed_emails(client, status)
    return print_import(status, report, failed, output)


def what_import_does(
    report: Report, program: wire.Program, contract: wire.Contract, choices: Choices
) -> str:
    """The sentence an import asks about: whom it invites to what, and what it leaves."""
    from tui.intake.counts import WARNINGS, Counts

    emails = "send invitation emails" if choices.send_emails else "send no emails"
    warned = f" ({report.warnings:,} {WARNINGS.words})" if report.warnings else ""
    summary = (
        f"Invite {plural(report.ready, 'learner')}{warned} to {program.name} under "
        f"{contract.name}, "
        f"and {emails}"
        + (" with your message" if choices.message and choices.send_emails else "")
        + "."
    )
    counts = Counts.of_report(report)
    if counts.not_invited:
        summary += f" {counts.not_invited_line()}."
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
    return summary


async def upload_and_send(
    client: RosterClient,
    learner_file: LearnerFile,
    program: wire.Program,
    contract: wire.Contract,
    choices: Choices,
    file_name: str,
) -> wire.ImportStatus:
    """Upload the ready rows, commit the import and wait for its emails, with progress bars."""
    from tui.api.client import ApiError
    from tui.api.importer import (
        email_phase,
        keep_left_out,
        not_sent,
        ready_rows,
        run_import,
        wait_for_emails,
    )
    from tui.cli.commit_phases import CommitPhases

    with _progress() as progress:
        upload = progress.add_task("Uploading", total=learner_file.summary.ready)
        phases = CommitPhases(progress)
        status = await run_import(
            client,
            ready_rows(learner_file),
            program_id=program.id,
            contract_id=contract.id,
            choices=choices,
            file_name=file_name,
            on_upload=lambda done, total: progress.update(upload, completed=done, total=total),
            unsent=not_sent(learner_file),
            on_commit_progress=phases.heard,
        )
        phases.ended()
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
    return status


def print_import(
    status: wire.ImportStatus, report: Report, failed: list[wire.Invitation], output: Format
) -> int:
    """What the import did, and the exit status that says it: 1 when rows were left out or
    emails failed."""
    from tui.api.importer import failures_text, retry_command

    counts = status.counts
    errors = counts.errors
    result: dict[str, Any] = {
        "import_id": status.id,
        "status": status.status,
        "rows": report.rows,
        **counts.as_dict(committed=True),
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
            + f". Rows: {counts.line(committed=True)}."
        )
        if failed:
            print("Emails that failed:")
            for line in failures_text(status, failed):
                print(f"  {line}")
    return Exit.ROW_ERRORS if errors or status.emails_failed else Exit.OK


def not_started(
    checked: LearnerFile, output: Format, style: Style, exit_code: Exit, **details: Any
) -> int:
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


def _counts(report: Report) -> dict[str, int]:
    from tui.intake.counts import Counts

    return {
        "rows": report.rows,
        **Counts(errors=report.errors, skipped=report.skipped).as_dict(committed=True),
        "emails_sent": 0,
        "emails_failed": 0,
    }


def _progress() -> Progress:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description:<26}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
