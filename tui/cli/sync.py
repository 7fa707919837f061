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

from tui.cli.files import column_choices, file_and_target, not_started, read_in_background
from tui.cli.options import batch_settings
from tui.cli.output import Format, output_of, print_json
from tui.outcome import Exit, Failure
from tui.text import plural

if TYPE_CHECKING:
    import polars as pl

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
    """Start the sync, upload the file's rows without errors (id, how many), read its diff."""
    import uuid

    from tui.api.importer import _upload
    from tui.wire import models as wire

    rows = every_row(learner_file)
    started = await client.start_import(
        wire.ImportCreate(
            program_id=program.id,
            contract_id=contract.id,
            send_emails=not options.no_email,
            file_name=path.name,
            update_learners=True,
            mode="sync",
            remove_missing=options.remove_missing,
            max_removals=options.max_removals,
            email_updated=options.email_updated,
        ),
        str(uuid.uuid4()),
    )
    await _upload(client, started.id, rows, None)
    return started.id, rows.height, await client.sync_diff(started.id, rows.height)


def every_row(learner_file: LearnerFile) -> pl.DataFrame:
    """Every row of the file as a chunk holds it, those with errors too: the service never
    takes a learner such a row names (its email or External ID) for one missing from the file.
    A row with errors goes without its Full Name, so that the service, which checks the rows
    again, leaves it out too whatever the error was (extra cells, say, it cannot see)."""
    import polars as pl

    failed = learner_file.issues.filter(pl.col("severity") == "error")["row"]
    return learner_file.learners.select(
        "row",
        pl.when(pl.col("row").is_in(failed.implode()))
        .then(pl.lit(""))
        .otherwise(pl.col("full_name"))
        .alias("full_name"),
        pl.coalesce("email_normalized", "email").alias("email"),
        pl.when(pl.col("external_id") != "").then(pl.col("external_id")).alias("external_id"),
    )


def with_file_errors(diff: wire.SyncDiff, learner_file: LearnerFile) -> wire.SyncDiff:
    """The diff with the file's own errors for its rows with errors (the first of each), and
    the service's for the others."""
    import polars as pl

    from tui.wire import models as wire

    errors = (
        learner_file.issues.filter(pl.col("severity") == "error")
        .unique("row", keep="first", maintain_order=True)
        .select("row", "code", "message")
    )
    mine = [wire.SyncError.model_validate(row) for row in errors.to_dicts()]
    rows = {error.row for error in mine}
    theirs = [error for error in diff.errors if error.row not in rows]
    return diff.model_copy(update={"errors": sorted(mine + theirs, key=lambda error: error.row)})


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
        f"{counts.get('unchanged', 0):,} unchanged, "
        f"{plural(len(diff.errors), 'row')} with errors left out."
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


def what_sync_does(diff: wire.SyncDiff, program: wire.Program) -> str:
    """The sentence a sync asks about, naming its counts."""
    said = f"Sync {program.name}: invite {len(diff.invite):,}, update {len(diff.update):,}, "
    if diff.remove_missing:
        said += f"remove {len(diff.remove):,}"
    else:
        said += f"keep the {len(diff.remove):,} not in the file (--remove-missing removes them)"
    return said + (
        f"; {diff.unchanged:,} unchanged, {plural(len(diff.errors), 'row')} with errors left out."
    )


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
        print(f"  ~ row {change.row}: {_changes(change)}")
    print(f"- {len(diff.remove):,} {removal}")
    for row in diff.remove:
        print(f"  - {row.full_name} <{row.email}> {row.external_id or ''} ({row.status})")
    print(f"= {diff.unchanged:,} unchanged")
    print(f"x {len(diff.errors):,} rows with errors")
    for error in diff.errors:
        print(f"  x row {error.row}: {error.message}")


def _changes(change: wire.SyncUpdate) -> str:
    pairs = (
        ("Full Name", change.old_full_name, change.full_name),
        ("Email", change.old_email, change.email),
        ("External ID", change.old_external_id, change.external_id or change.old_external_id),
    )
    return "; ".join(f"{name} {old or '(none)'} → {new}" for name, old, new in pairs if old != new)
