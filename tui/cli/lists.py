"""The lists an admin reads from the service: programs, contracts, invitations and imports; and
what can be done to invitations in bulk (resend, remind, revoke)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tui.cli.options import batch_settings
from tui.cli.output import (
    Format,
    output_of,
    print_json,
    print_list,
    print_table,
    writing_to,
)
from tui.outcome import Exit, Failure
from tui.text import noun, plural

if TYPE_CHECKING:
    from tui.api.client import RosterClient
    from tui.settings import Settings
    from tui.wire import models as wire


def programs(options: argparse.Namespace) -> int:
    from tui.cli.client import run

    output = output_of(options)
    return run(list_programs(batch_settings(options), output, archived=options.archived), output)


async def list_programs(settings: Settings, output: Format, *, archived: bool = False) -> int:
    from tui.cli.client import connect

    async with connect(settings) as client:
        found = (await client.programs(archived=archived)).items
    print_list(
        output,
        [program.model_dump() for program in found],
        ["ID", "PROGRAM", "LEARNERS", "PENDING"],
        [[p.id, p.name, p.learners, p.pending] for p in found],
    )
    return Exit.OK


def contracts(options: argparse.Namespace) -> int:
    from tui.cli.client import run

    output = output_of(options)
    return run(
        list_contracts(batch_settings(options), options.program, output, archived=options.archived),
        output,
    )


async def list_contracts(
    settings: Settings, program_ref: str, output: Format, *, archived: bool = False
) -> int:
    from tui.cli.client import connect, find_program

    async with connect(settings) as client:
        program = await find_program(client, program_ref)
        found = (await client.contracts(program.id, archived=archived)).items
    print_list(
        output,
        [contract.model_dump(mode="json") for contract in found],
        ["ID", "CONTRACT", "SEATS LEFT", "DATES", "AVAILABLE"],
        [
            [
                c.id,
                c.name,
                "unlimited" if c.seats_total is None else f"{c.seats_left} of {c.seats_total}",
                f"{c.starts_on or '…'} – {c.ends_on or '…'}",
                "yes" if c.available else f"no: {c.unavailable_reason}",
            ]
            for c in found
        ],
    )
    return Exit.OK


def invitations(options: argparse.Namespace) -> int:
    """`roster invitations`: the list of a program or an import, or an action on some."""
    from tui.cli.client import run

    output = output_of(options)
    settings = batch_settings(options)
    if options.action:
        if not options.ids and not options.program and options.import_id is None:
            raise Failure(
                "usage",
                f"Name the invitations to {options.action}: their ids, or "
                "--program P or --import ID with --status / --email-status.",
            )
        return run(
            act_on_invitations(
                settings,
                options.action,
                options.ids,
                options.program,
                options.status,
                options.email_status,
                import_id=options.import_id,
                yes=options.yes,
                output=output,
                pending_for_days=options.days if options.action == "remind" else None,
            ),
            output,
        )
    if (not options.program and options.import_id is None) or options.ids:
        raise Failure(
            "usage",
            "List invitations with --program P or --import ID (ids go "
            "with an action: roster invitations resend|revoke IDS).",
        )
    return run(
        list_invitations(
            settings,
            options.program,
            options.status,
            output,
            email_status=options.email_status,
            import_id=options.import_id,
        ),
        output,
    )


async def list_invitations(
    settings: Settings,
    program_ref: str | None,
    status: str | None,
    output: Format,
    *,
    email_status: str | None = None,
    import_id: int | None = None,
) -> int:
    """Every invitation of the filter, streamed by the service. JSON goes out as it comes in,
    never parsed here: a million invitations in seconds, and memory stays small."""
    import contextlib
    import json

    from tui.cli.client import connect, find_program
    from tui.cli.output import CsvWriter
    from tui.wire import models as wire

    out = sys.stdout.buffer
    sheet = CsvWriter() if output == "csv" else None
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
                    if sheet is not None:
                        sheet.add(json.loads(line))
                        continue
                    i = wire.Invitation.model_validate_json(line)
                    created, problem = f"{i.created_at:%Y-%m-%d}", (i.email_error or "")[:60]
                    rows.append(
                        [i.id, i.full_name, i.email, i.status, i.email_status, created, problem]
                    )
    if output == "json":
        out.write(rest.replace(b"\n", b"") + b'], "total": %d}\n' % total)
        out.flush()
        return Exit.OK
    if sheet is not None:
        return Exit.OK
    print_table(
        ["ID", "LEARNER", "EMAIL", "STATUS", "EMAIL STATUS", "CREATED", "EMAIL PROBLEM"], rows
    )
    print(plural(total, "invitation"))
    return Exit.OK


# What each bulk action does, as its question and its answer say it.
_DOES = {
    "resend": "a new email and a renewed expiry for",
    "remind": "a reminder (emailed {days} ago or more) to",
    "revoke": "revoke",
}
_DONE = {"resend": "resent", "remind": "reminded", "revoke": "revoked"}


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
    output: Format,
) -> int:
    """Resend, remind or revoke invitations by id or by filter, after saying how many and
    asking."""
    from tui.api.outcomes import FOLLOW_FOR, follow_emails
    from tui.cli.client import confirm, connect, find_program
    from tui.wire import models as wire

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
        if ids:
            count = len(ids)
        else:
            page = await client.invitations(
                program.id if program else None,
                status,
                limit=1,
                email_status=email_status,
                import_id=import_id,
                pending_for_days=pending_for_days,
            )
            count = page.total
        days = "" if pending_for_days is None else plural(pending_for_days, "day")
        what = _DOES[action].format(days=days)
        print(
            f"{action.capitalize()}: {what} {plural(count, 'invitation')} (pending ones only).",
            file=sys.stderr,
        )
        if not yes and not await confirm(f"add --yes to {action} without asking."):
            print("Nothing was changed.", file=sys.stderr)
            return Exit.USAGE
        result = await client.bulk(action, selection)
        outcome = None
        if action in ("resend", "remind") and result.changed:
            # The action queued the emails; what is said is what became of them.
            print(
                f"{plural(result.changed, 'email')} queued; waiting up to {FOLLOW_FOR:.0f} s "
                "for their outcome…",
                file=sys.stderr,
            )
            outcome = await follow_emails(client, selection, result.changed)
    if output == "json":
        done = result.model_dump(exclude_none=True)  # last_id: only for batches
        if outcome is not None:
            done["emails"] = {
                "delivered": outcome.delivered,
                "failed": outcome.failed,
                "queued": outcome.queued,
            }
        print_json(done)
    else:
        left = ", ".join(f"{n:,} {code.replace('_', ' ')}" for code, n in result.left.items())
        print(
            f"{result.changed:,} of {result.matched:,} {noun(result.matched, 'invitation')} "
            f"{_DONE[action]}" + (f"; left as they were: {left}." if left else ".")
        )
        if outcome is not None:
            print(outcome.text() + ("" if outcome.settled else STILL_QUEUED))
    return Exit.OK


# After the wait, for emails not yet delivered or failed.
STILL_QUEUED = (
    " They go on being sent: roster invitations --email-status queued lists those waiting, "
    "--email-status failed those that failed."
)


def imports(options: argparse.Namespace) -> int:
    """`roster imports`: the history, or `imports show ID` one import."""
    from tui.cli.client import run

    output = output_of(options)
    settings = batch_settings(options)
    if (options.show is None) != (options.import_id is None) or (
        options.left_out and options.import_id is None
    ):
        raise Failure("usage", "Show one import with: roster imports show ID [--left-out FILE]")
    if options.show == "results":
        from tui.cli.sheets import import_results

        return run(import_results(settings, options.import_id, options.output), output)
    if options.output is not None:
        raise Failure("usage", "--output goes with results: roster imports results ID --output F")
    if options.import_id is not None and output == "csv":
        raise Failure(
            "usage", "One import as CSV is its results: roster imports results ID [--output F]"
        )
    if options.import_id is not None:
        return run(show_import(settings, options.import_id, output, options.left_out), output)
    return run(list_imports(settings, output), output)


async def show_import(
    settings: Settings, import_id: int, output: Format, left_out: Path | None
) -> int:
    """One import with its counts and its rows with issues; with `left_out`, its rows not
    invited saved there (never over an existing file)."""
    from tui.cli.client import connect

    async with connect(settings) as client:
        record = await client.get_import(import_id)
        if left_out is not None:
            await _save_left_out(client, import_id, left_out)
    if output == "json":
        print_json(record.model_dump(mode="json"))
    else:
        _print_import(record)
    return Exit.OK


async def list_imports(settings: Settings, output: Format) -> int:
    """The import history, newest first."""
    from tui.cli.client import connect

    async with connect(settings) as client:
        records: list[wire.ImportStatus] = []
        while True:
            page = await client.imports(offset=len(records), limit=500)
            records += page.items
            if len(records) >= page.total or not page.items:
                break
    print_list(
        output,
        [record.model_dump(mode="json") for record in records],
        [
            "ID",
            "WHEN",
            "BY",
            "FILE",
            "STATUS",
            "ROWS",
            "INVITED",
            "WARNINGS",
            "ERRORS",
            "SKIPPED",
            "LEFT OUT",
            "EMAILS SENT",
            "FAILED",
            "QUEUED",
        ],
        [
            [
                r.id,
                f"{r.created_at.astimezone():%Y-%m-%d %H:%M}",
                r.admin_email or "-",
                r.file_name or "-",
                r.status,
                r.rows,
                r.invited,
                r.warnings,
                r.errors,
                sum(r.skipped.values()),
                r.left_out,
                r.emails_sent,
                r.emails_failed,
                r.emails_queued - r.emails_sent - r.emails_failed,
            ]
            for r in records
        ],
        total=len(records),
    )
    return Exit.OK


async def _save_left_out(client: RosterClient, import_id: int, path: Path) -> None:
    import polars as pl

    from tui.intake.export import write_rows_with_errors

    rows = await client.left_out(import_id)
    with writing_to(path):
        write_rows_with_errors(pl.DataFrame(rows.model_dump()), path)
    print(f"{plural(len(rows), 'row')} not invited saved to {path}", file=sys.stderr)


def _print_import(record: wire.ImportStatus) -> None:
    print(
        f"Import {record.id}: {record.status}, {record.file_name or 'no file name'}, "
        f"started {record.created_at.astimezone():%Y-%m-%d %H:%M}"
    )
    skipped = ", ".join(f"{count:,} {code}" for code, count in record.skipped.items())
    print(
        f"  rows sent {record.rows:,} · {record.counts.line(committed=True)}"
        + (f" ({skipped})" if skipped else "")
    )
    if record.mode == "sync" and record.sync:
        from tui.api.syncing import sync_said

        print(f"  sync: {sync_said(record.sync)}")
    elif record.mode == "sync" and record.status == "abandoned":
        print("  sync previewed and not applied: it changed nothing")
    print(
        f"  emails: {record.emails_sent:,} sent, {record.emails_failed:,} failed, "
        f"{record.emails_retrying:,} retrying of {record.emails_queued:,}"
    )
    if record.email_problem and record.email_problem.startswith("paused"):
        print(f"  emails {record.email_problem}")
    elif record.email_problem:
        print(f"  mail server's last answer: {record.email_problem}")
    for issue in record.issues:
        print(f"  row {issue.row}: {issue.severity} {issue.code}: {issue.message}")
