"""Driving an import through the API: dry run, chunked upload, commit, and the emails after.

Used by `roster import` and by the app. A retried request reuses the run's Idempotency-Key, so
it finds the same import; a re-run is a new import whose learners the service finds already
invited and skips.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

import polars as pl

from tui.api.client import ApiError, RosterClient, ServiceUnreachableError
from tui.api.commit_progress import CommitHeard
from tui.intake.counts import LEFT_OUT_REASON
from tui.intake.fields import (
    EMAIL_FIELD,
    FIELD_NAMES,
    LEARNER_FIELDS,
    OPTIONAL_FIELDS,
    LearnerField,
)
from tui.intake.learner_file import LearnerFile, warning_rows
from tui.intake.report import SKIP_CODES
from tui.intake.rules import ISSUE_SCHEMA, learner_differences, skip_issues
from tui.text import plural
from tui.wire import models as wire

CHUNK_ROWS = 50_000
UPLOADS_AT_ONCE = 2
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Choices:
    """What the admin chose for an import besides its rows."""

    send_emails: bool = True
    message: str | None = None  # their own words in each email
    update_learners: bool = False  # stored learners take the file's differing values


def _ready(learner_file: LearnerFile, *columns: str) -> pl.DataFrame:
    """The rows without errors (only `columns`, when named: a million rows are copied)."""
    failed = learner_file.issues.filter(pl.col("severity") == "error")["row"]
    learners = learner_file.learners.select(*columns) if columns else learner_file.learners
    return learners.filter(~pl.col("row").is_in(failed.implode()))


def _chunk_column(field: LearnerField) -> pl.Expr:
    """A learner field's chunk column, from the checked learners: the email as email-validator
    normalized it, an optional field's empty value null."""
    if field is EMAIL_FIELD:
        return pl.col("email_normalized").alias(field.name)
    value = pl.col(field.name)
    return value if field.required else pl.when(value != "").then(value).alias(field.name)


# The checked learners' columns a chunk is made of, and the chunk's columns made of them.
_CHUNK_SOURCES = (
    "row",
    *("email_normalized" if field is EMAIL_FIELD else field.name for field in LEARNER_FIELDS),
)
_CHUNK_COLUMNS = (pl.col("row"), *(_chunk_column(field) for field in LEARNER_FIELDS))


def ready_rows(learner_file: LearnerFile) -> pl.DataFrame:
    """The rows without errors, as the service takes them (`wire.CHUNK_CSV_COLUMNS`: normalized
    emails, an optional field's empty value null). A frame: a million rows as Python lists cost
    250 MB; a file with no errors is not even copied."""
    errors = learner_file.issues.filter(pl.col("severity") == "error").height
    learners = learner_file.learners
    ready = _ready(learner_file, *_CHUNK_SOURCES) if errors else learners.select(_CHUNK_SOURCES)
    return ready.select(_CHUNK_COLUMNS)


def chunk_csv(rows: pl.DataFrame) -> bytes:
    """Rows of `ready_rows` as an import chunk's CSV (text/csv), written by polars."""
    buffer = io.BytesIO()
    rows.select(wire.CHUNK_CSV_COLUMNS).write_csv(buffer)
    return buffer.getvalue()


def with_service_check(
    learner_file: LearnerFile, result: wire.CheckResult, program: str
) -> LearnerFile:
    """The file with the service's checks added, in its report and its issues: skipped rows
    (worded here, from the row numbers the service sent), conflicts, seats, and the rows whose
    stored learner has another name or External ID than the file's. All as frames: a file
    checked again against its own invitations has a million skipped rows."""
    learners = learner_file.learners
    skipped = pl.concat(
        [
            pl.DataFrame({"row": rows, "code": code}, schema=_SKIPPED)
            for code, rows in result.skipped_rows
        ]
    )
    differs = differing(result.known, learners)
    found = [
        skip_issues(
            skipped.join(
                learners.select("row", pl.col("email_normalized").alias("email")), on="row"
            ),
            program,
        ),
        pl.DataFrame(
            [issue.model_dump() for issue in result.issues], schema=ISSUE_SCHEMA, orient="row"
        ),
        differs,
    ]
    issues = pl.concat([learner_file.issues, *found]).sort("row", maintain_order=True)
    summary = learner_file.summary.model_copy(
        update={
            "file_errors": learner_file.summary.file_errors + result.file_errors,
            "skipped": result.skipped,
            "errors": learner_file.summary.errors + result.errors,
            "ready": result.ready,
            "differing": differs.height,
            "warnings": warning_rows(issues).len(),
        }
    )
    return replace(learner_file, summary=summary, issues=issues)


_SKIPPED = {"row": pl.UInt32, "code": pl.String}


def differing(known: wire.KnownLearners, learners: pl.DataFrame) -> pl.DataFrame:
    """`learner_differs` warnings (ISSUE_SCHEMA): the service sent the stored values of the
    ready rows whose learner it knows, and the file's names are here (the dry run does not
    send them)."""
    stored = pl.DataFrame(
        {"row": known.row, "stored_name": known.full_name, "stored_external_id": known.external_id},
        schema={"row": pl.UInt32, "stored_name": pl.String, "stored_external_id": pl.String},
    )
    rows = stored.join(learners.select("row", "full_name", "external_id"), on="row", how="inner")
    return learner_differences(rows)


def check_request_csv(learner_file: LearnerFile) -> bytes:
    """The dry run's rows as CSV (`wire.CHECK_CSV_COLUMNS`): what the service needs of each
    row, no names, in the form it reads cheapest (see tui.service.dry_run). Written by polars:
    no Python object per cell."""
    return check_csv(_ready(learner_file, "row", "email_normalized", "external_id"))


def check_csv(learners: pl.DataFrame) -> bytes:
    """Checked learners (`row`, `email_normalized`, `external_id`) as the dry run's CSV."""
    row, email, external_id = wire.CHECK_CSV_COLUMNS
    buffer = io.BytesIO()
    learners.select(
        pl.col("row").alias(row),
        pl.col("email_normalized").alias(email),
        pl.when(pl.col("external_id") != "").then(pl.col("external_id")).alias(external_id),
    ).write_csv(buffer)
    return buffer.getvalue()


async def dry_run(
    client: RosterClient, learner_file: LearnerFile, program: wire.Program, contract_id: int
) -> LearnerFile:
    """The file checked by the service as well (`with_service_check`). The work on the rows runs
    in threads, so the app's event loop keeps drawing."""
    body = await asyncio.to_thread(check_request_csv, learner_file)
    result = await client.check(program.id, contract_id, body)
    del body
    return await asyncio.to_thread(with_service_check, learner_file, result, program.name)


async def _upload(
    client: RosterClient, import_id: int, rows: pl.DataFrame, on_upload: Progress | None
) -> None:
    """Upload the rows in chunks, `UPLOADS_AT_ONCE` on the wire: the next chunk is written
    and sent while the service stores the last (a million rows: 1.8 s one at a time)."""
    total, sent = rows.height, 0
    sending: set[asyncio.Task[int]] = set()

    async def put(seq: int, start: int) -> int:
        chunk = await asyncio.to_thread(chunk_csv, rows.slice(start, CHUNK_ROWS))
        await client.put_chunk(import_id, seq, chunk)
        return min(CHUNK_ROWS, total - start)

    async def settle(until: int) -> None:
        nonlocal sending, sent
        while len(sending) > until:
            done, sending = await asyncio.wait(sending, return_when=asyncio.FIRST_COMPLETED)
            failed = [error for task in done if (error := task.exception())]
            if failed:  # a refused or unsent chunk ends the upload
                raise failed[0]
            sent += sum(task.result() for task in done)
            if on_upload:
                on_upload(sent, total)

    try:
        for seq, start in enumerate(range(0, total, CHUNK_ROWS)):
            await settle(UPLOADS_AT_ONCE - 1)
            sending.add(asyncio.create_task(put(seq, start)))
        await settle(0)
    finally:
        for task in sending:
            task.cancel()
        await asyncio.gather(*sending, return_exceptions=True)


def not_sent(learner_file: LearnerFile) -> wire.ImportCommit:
    """What the commit says of the file besides the rows it sent (`rows`, set by `run_import`):
    its rows with errors and its rows left out, which are not sent, and the sent rows with a
    warning found in the file, so that the import counts its rows as the preview did."""
    return wire.ImportCommit(
        rows=0,
        errors=learner_file.summary.errors,
        left_out=learner_file.left_out.height,
        warned=warning_rows(learner_file.issues).sort().to_list(),
    )


async def run_import(
    client: RosterClient,
    rows: pl.DataFrame,
    *,
    program_id: int,
    contract_id: int,
    choices: Choices,
    file_name: str,
    key: str | None = None,
    on_upload: Progress | None = None,
    on_commit: Callable[[int], None] | None = None,
    unsent: wire.ImportCommit | None = None,
    on_commit_progress: CommitHeard | None = None,
    poll: float = 0.5,
) -> wire.ImportStatus:
    """Start (or find) the import, upload its rows (`ready_rows`) in chunks of CSV, commit it
    with what `unsent` (`not_sent`) says of the file's other rows.
    `on_upload` hears the rows uploaded so far; `on_commit` the rows the commit turns into
    invitations, as it starts (at a million rows it is the longest step); `on_commit_progress`
    the commit's phase and counts every `poll` seconds while it runs (None: the service
    answering does not tell)."""
    started = await client.start_import(
        wire.ImportCreate(
            program_id=program_id,
            contract_id=contract_id,
            send_emails=choices.send_emails,
            file_name=file_name,
            message=choices.message,
            update_learners=choices.update_learners,
        ),
        key or str(uuid.uuid4()),
    )
    if started.status == "committed":
        return started
    total = rows.height
    try:
        await _upload(client, started.id, rows, on_upload)
        if on_commit:
            on_commit(total)
        if on_commit_progress is None:
            return await client.commit_import(started.id, total, unsent)
        return await _commit_watched(client, started.id, total, on_commit_progress, poll, unsent)
    except ApiError as error:
        if error.code in wire.STORAGE_FAULT_CODES:
            await _abandon(client, started.id)
        raise


async def _commit_watched(
    client: RosterClient,
    import_id: int,
    rows: int,
    heard: CommitHeard,
    poll: float,
    unsent: wire.ImportCommit | None = None,
) -> wire.ImportStatus:
    """Commit the import, asking for its progress every `poll` seconds until it answers."""
    committing = asyncio.ensure_future(client.commit_import(import_id, rows, unsent))
    try:
        while not committing.done():
            await asyncio.wait([committing], timeout=poll)
            if committing.done():
                break
            with contextlib.suppress(ApiError, ServiceUnreachableError):
                status = await client.get_import(import_id)
                if status.status == "open":
                    heard(status.progress)
        return committing.result()
    finally:
        committing.cancel()


async def _abandon(client: RosterClient, import_id: int) -> None:
    """Give up an import a storage fault failed, so its rows take no room a retry needs. The
    service has mostly dropped it already; if this fails too, it does so once the import is
    idle (`tui.service.abandon.ABANDON_AFTER`)."""
    with contextlib.suppress(ApiError, ServiceUnreachableError):
        await client.abandon_import(import_id)


def email_phase(status: wire.ImportStatus) -> str:
    """What the emails are doing, for a progress line: sending, or why they are being retried."""
    if status.email_problem and status.email_problem.startswith("paused"):
        return f"Emails {status.email_problem}"
    if not status.emails_retrying:
        return "Sending invitation emails"
    retrying = plural(status.emails_retrying, "email")
    reason = status.email_problem or "the mail server did not answer"
    when = ""
    if status.next_email_attempt_at:
        when = f"; next try at {status.next_email_attempt_at.astimezone():%H:%M:%S}"
    return f"Retrying {retrying}: {reason}{when}"


async def wait_for_emails(
    client: RosterClient,
    status: wire.ImportStatus,
    on_progress: Callable[[wire.ImportStatus], None] | None = None,
    poll: float = 0.2,
) -> wire.ImportStatus:
    """Poll until every email the import queued (or found still owed) is sent or failed.

    While the mail server is down the emails stay queued and are retried; the status says so,
    and so does `email_phase`, so a waiting client shows why instead of a frozen count.
    """
    while not status.emails_done:
        if on_progress:
            on_progress(status)
        await asyncio.sleep(poll)
        status = await client.get_import(status.id)
    if on_progress:
        on_progress(status)
    return status


FAILED_NAMED = 5


async def failed_emails(client: RosterClient, status: wire.ImportStatus) -> list[wire.Invitation]:
    """The first few of the import's failed emails, each with the mail server's reply."""
    if not status.emails_failed:
        return []
    page = await client.invitations(import_id=status.id, email_status="failed", limit=FAILED_NAMED)
    return page.items


def failures_text(status: wire.ImportStatus, failed: list[wire.Invitation]) -> list[str]:
    """Which emails failed and why (the first few, and how many more), and how to send them
    again once the cause is fixed."""
    lines = [f"{invitation.email}: {invitation.email_error or 'not sent'}" for invitation in failed]
    more = status.emails_failed - len(failed)
    if more > 0:
        lines.append(f"and {plural(more, 'more failed email')}")
    lines.append(f"Once the cause is fixed, send them again: {retry_command(status)}")
    return lines


def retry_command(status: wire.ImportStatus) -> str:
    return f"roster invitations resend --import {status.id} --email-status failed"


def left_out_rows(learner_file: LearnerFile, status: wire.ImportStatus) -> wire.LeftOutRows:
    """The file's rows the import did not invite: those with errors, those the service skipped
    or refused, and those the admin left out, each with every reason in `error`."""
    service = pl.DataFrame(
        [
            (issue.row, issue.message)
            for issue in status.issues
            if issue.severity == "error" or issue.code in SKIP_CODES
        ],
        schema={"row": pl.UInt32, "message": pl.String},
        orient="row",
    )
    failed = learner_file.issues.filter(pl.col("severity") == "error").select("row")
    left = pl.concat([failed.select("row"), service.select("row")]).unique()
    reasons = (
        pl.concat([learner_file.issues.select("row", "message"), service])
        .join(left, on="row")
        .group_by("row", maintain_order=True)
        .agg(pl.col("message").str.join("; ").alias("error"))
    )
    rows = (
        learner_file.learners.select("row", *FIELD_NAMES)
        .join(reasons, on="row")
        .sort("row")
        .with_columns(pl.col(field.name).fill_null("") for field in OPTIONAL_FIELDS)
        .with_columns(pl.lit("error").alias("outcome"))
    )
    left_out = learner_file.left_out.select(
        pl.col("row").cast(rows["row"].dtype),
        *FIELD_NAMES,
        pl.lit(LEFT_OUT_REASON).alias("error"),
        pl.lit("left_out").alias("outcome"),
    ).with_columns(pl.col(field.name).fill_null("") for field in OPTIONAL_FIELDS)
    if left_out.height:
        rows = pl.concat([rows, left_out], how="vertical_relaxed").sort("row")
    return wire.LeftOutRows.model_validate(rows.to_dict(as_series=False))


async def keep_left_out(
    client: RosterClient, learner_file: LearnerFile, status: wire.ImportStatus
) -> None:
    """Have the service keep the rows this import did not invite, to be saved again later."""
    if status.status != "committed":
        return
    rows = await asyncio.to_thread(left_out_rows, learner_file, status)
    if len(rows):
        await client.keep_left_out(status.id, rows)
