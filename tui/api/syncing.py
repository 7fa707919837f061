"""A sync's steps that the CLI (`roster sync`) and the app share: its rows as the service takes
them, the upload that starts it and reads its diff, and the words for what it does."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from tui.text import plural

# polars and the wire models are imported when a sync runs: `roster --help` loads neither.
if TYPE_CHECKING:
    import polars as pl

    from tui.api.client import RosterClient
    from tui.intake import LearnerFile
    from tui.wire import models as wire


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


async def start_sync(
    client: RosterClient,
    rows: pl.DataFrame,
    target: wire.ImportCreate,
) -> tuple[int, wire.SyncDiff]:
    """Start the sync `target` (mode sync), upload `rows` (every_row) and read its diff: the
    import's id and the diff. Nothing changes until the import is committed."""
    from tui.api.importer import _upload

    started = await client.start_import(target, str(uuid.uuid4()))
    try:
        await _upload(client, started.id, rows, None)
        return started.id, await client.sync_diff(started.id, rows.height)
    except BaseException:
        import contextlib

        with contextlib.suppress(Exception):
            await client.abandon_import(started.id)
        raise


def sync_target(
    program: wire.Program,
    contract: wire.Contract,
    file_name: str,
    *,
    send_emails: bool = True,
    remove_missing: bool = False,
    max_removals: int | None = None,
    email_updated: bool = False,
) -> wire.ImportCreate:
    """The import that starts a sync of `program` under `contract`."""
    from tui.wire import models as wire

    return wire.ImportCreate(
        program_id=program.id,
        contract_id=contract.id,
        send_emails=send_emails,
        file_name=file_name,
        update_learners=True,
        mode="sync",
        remove_missing=remove_missing,
        max_removals=max_removals,
        email_updated=email_updated,
    )


def what_sync_does(diff: wire.SyncDiff, program: wire.Program) -> str:
    """The sentence a sync asks about, naming its counts."""
    said = f"Sync {program.name}: invite {len(diff.invite):,}, update {len(diff.update):,}, "
    if diff.remove_missing:
        said += f"remove {len(diff.remove):,}{removals_said(diff)}"
    else:
        said += f"keep the {len(diff.remove):,} not in the file (--remove-missing removes them)"
    return said + f"; {diff.unchanged:,} unchanged, {errors_said(len(diff.errors))}."


def removals_said(diff: wire.SyncDiff) -> str:
    """Who the removals are, when there are any: ' (2 members, 1 pending invitation)', a
    group with none left unsaid."""
    members = sum(1 for learner in diff.remove if learner.status == "member")
    groups = ((members, "member"), (len(diff.remove) - members, "pending invitation"))
    said = ", ".join(plural(count, noun) for count, noun in groups if count)
    return f" ({said})" if said else ""


def errors_said(errors: int) -> str:
    """The rows with errors a sync leaves as they are: never read as the sync not done."""
    return f"{plural(errors, 'row')} with errors (not synced)" if errors else "no rows with errors"


def changes(change: wire.SyncUpdate) -> str:
    """What an update changes: 'Full Name Ann Lee → Ann Smith; Email …'."""
    pairs = (
        ("Full Name", change.old_full_name, change.full_name),
        ("Email", change.old_email, change.email),
        ("External ID", change.old_external_id, change.external_id or change.old_external_id),
    )
    return "; ".join(f"{name} {old or '(none)'} → {new}" for name, old, new in pairs if old != new)


def sync_said(counts: dict[str, int]) -> str:
    """What a committed sync did, from its import's `sync` counts."""
    return (
        f"{counts.get('invited', 0):,} invited, {counts.get('updated', 0):,} updated, "
        f"{counts.get('removed', 0):,} removed, {counts.get('revoked', 0):,} revoked, "
        f"{counts.get('unchanged', 0):,} unchanged, {errors_said(counts.get('errors', 0))}"
    )
