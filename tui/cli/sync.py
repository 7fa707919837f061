"""`roster sync FILE --program P --contract C`: make the program's learners match the file.

The file is read and checked as `roster import` reads it; its rows go to the service as an
import's do, in chunks, as a sync (`mode` "sync"). The service answers the difference with the
program's learners without changing anything; it is shown, and committed in one transaction
only once the admin agrees (`--yes`, or yes to the question). `--dry-run` shows it and gives
the upload up.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.api.syncing import changes, errors_said, every_row, what_sync_does, with_file_errors
from tui.cli.files import column_choices, file_and_target, not_started, read_in_background
from tui.cli.options import batch_settings
from tui.cli.output import Format, output_of, print_json
from tui.outcome import Exit, Failure
from tui.text import plural

if TYPE_CHECKING:
    from tui.api.client import RosterClient
    from tui.intake import LearnerFile
    from tui.settings import Settings
    from tui.wire import models as wire


def sync_file(options: argparse.Namespace) -> int:
    settings = batch_settings(options)  # before polars is imported
    from tui.cli.client import run

    output = output_of(options)
    if options.max_removals is not None and options.max_removals < 0:
        raise Failure("usage", "--max-removals takes a count: 0 or more.")
    return run(sync_from_file(settings, options, output), output)


async def sync_from_file(settings: Settings, options: argparse.Namespace, output: Format) -> int:
    from tui.api.client import ApiError, ServiceUnreachableError
    from tui.cli.client import connect
    from tui.intake import read_learner_file
    from tui.intake.render import Style, use_color

    path: Path = options.file
    columns = column_choices(options)
    reading = read_in_background(read_learner_file, path, settings.limits, columns)
    async with connect(settings) as client:
        learner_file, target = await file_and_target(
            client, reading, options.program, options.contract
        )
        if not target:
            return not_started(learner_file, output, Style(use_color(sys.stderr)), Exit.USAGE)
        program, contract = target
        import_id, rows, diff = await _upload(
            client, learner_file, program, contract, options, path
        )
        diff = with_file_errors(diff, learner_file)
        try:
            return await _decide(client, import_id, rows, diff, program, options, output)
        except BaseException:
            import contextlib

            with contextlib.suppress(ApiError, ServiceUnreachableError, Exception):
                await client.abandon_import(import_id)
            raise


async def _upload(
    client: RosterClient,
    learner_file: LearnerFile,
    program: wire.Program,
    contract: wire.Contract,
    options: argparse.Namespace,
    path: Path,
) -> tuple[int, int, wire.SyncDiff]:
    """Start the sync, upload every row of the file (id, how many), read its diff."""
    from tui.api.syncing import start_sync, sync_target

    rows = every_row(learner_file)
    target = sync_target(
        program,
        contract,
        path.name,
        send_emails=not options.no_email,
        remove_missing=options.remove_missing,
        max_removals=options.max_removals,
        email_updated=options.email_updated,
    )
    import_id, diff = await start_sync(client, rows, target)
    return import_id, rows.height, diff


async def _decide(
    client: RosterClient,
    import_id: int,
    rows: int,
    diff: wire.SyncDiff,
    program: wire.Program,
    options: argparse.Namespace,
    output: Format,
) -> int:
    """Show the diff; stop (dry run, nothing to change, refused) or ask, then commit."""
    from tui.cli.client import confirm

    document: dict[str, Any] = {"diff": diff_document(diff)}
    if output != "json":
        print_diff(diff)
    removing = len(diff.remove) if diff.remove_missing else 0
    nothing = not (diff.invite or diff.update or removing)
    if diff.refusal or options.dry_run or nothing:
        await client.abandon_import(import_id)
    if diff.refusal:
        failure = Failure(diff.refusal_code or "refused", diff.refusal, Exit.REFUSED)
        return _refused(failure, document, output)
    if options.dry_run:
        return _done(document, {"status": "dry_run"}, output, "Dry run: nothing was changed.")
    if nothing:
        return _done(document, {"status": "unchanged"}, output, "Nothing to change.")
    question = what_sync_does(diff, program)
    print(question, file=sys.stderr)
    try:
        if not options.yes and not await confirm("add --yes to sync without asking."):
            await client.abandon_import(import_id)
            print("Nothing was changed.", file=sys.stderr)
            return Exit.USAGE
    except Failure as failure:
        return _refused(failure, document, output)
    status = await client.commit_import(import_id, rows)
    if status.emails_queued:
        from tui.api.importer import wait_for_emails

        status = await wait_for_emails(client, status, lambda _: None)
    counts = status.sync or {}
    result = {
        "import_id": status.id,
        "status": status.status,
        **counts,
        "errors": len(diff.errors),
        "emails_sent": status.emails_sent,
        "emails_failed": status.emails_failed,
    }
    said = (
        f"Sync {status.id} complete: {counts.get('invited', 0):,} invited, "
        f"{counts.get('updated', 0):,} updated"
        + (
            f" ({counts['emailed_updated']:,} emailed at their new address)"
            if counts.get("emailed_updated")
            else ""
        )
        + f", {counts.get('removed', 0):,} removed, {counts.get('revoked', 0):,} revoked, "
        f"{counts.get('unchanged', 0):,} unchanged, {errors_said(len(diff.errors))}."
    )
    done = _done(document, result, output, said)
    return Exit.ROW_ERRORS if status.emails_failed else done


def _done(document: dict[str, Any], result: dict[str, Any], output: Format, said: str) -> int:
    """Print the outcome; 1 when the file had rows with errors (left out), else 0."""
    if output == "json":
        print_json({**document, "result": result})
    else:
        print(said)
    return Exit.ROW_ERRORS if document["diff"]["errors"] else Exit.OK


def _refused(failure: Failure, document: dict[str, Any], output: Format) -> int:
    if output == "json":
        print_json({**document, "result": None, **failure.document()})
    else:
        print(f"roster: {failure.message}", file=sys.stderr)
    return int(failure.exit_code)


def diff_document(diff: wire.SyncDiff) -> dict[str, Any]:
    return {
        "invite": [row.model_dump(exclude={"status"}) for row in diff.invite],
        "update": [row.model_dump() for row in diff.update],
        "remove": [row.model_dump(exclude={"row"}) for row in diff.remove],
        "unchanged": diff.unchanged,
        "errors": [row.model_dump() for row in diff.errors],
        "remove_missing": diff.remove_missing,
        "learners": diff.learners,
    }


def print_diff(diff: wire.SyncDiff) -> None:
    """The diff for people: each group's count, then its rows with their marker."""
    removal = "to remove" if diff.remove_missing else "not in the file (kept)"
    print(f"+ {len(diff.invite):,} to invite")
    for row in diff.invite:
        print(f"  + row {row.row}: {row.full_name} <{row.email}> {row.external_id or ''}".rstrip())
    print(f"~ {len(diff.update):,} to update")
    for change in diff.update:
        print(f"  ~ row {change.row}: {changes(change)}")
    print(f"- {len(diff.remove):,} {removal}")
    for row in diff.remove:
        print(f"  - {row.full_name} <{row.email}> {row.external_id or ''} ({row.status})")
    print(f"= {diff.unchanged:,} unchanged")
    print(f"x {plural(len(diff.errors), 'row')} with errors")
    for error in diff.errors:
        print(f"  x row {error.row}: {error.message}")
