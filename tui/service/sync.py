"""A sync: the commit of an import whose file is the program's whole roster (`mode` "sync").

The file's rows are compared with the program's learners (its members and live pending
invitations): a row naming none of them is invited, as an import would; a row naming one with
another Full Name, email or External ID updates that learner; a learner the file does not name
is removed (a member: its seat freed) or revoked (a pending invitation), if the sync asks for
it (`remove_missing`). The same person is the same External ID when both have one, else the
same email: an email changed under the same External ID is an update.

Everything happens in the caller's one transaction, under the program's and contract's locks
(`lock_for_invitations`): a preview is the same work rolled back, so it shows what the commit
does. The comparison is joins of polars frames, never a Python object per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import polars as pl
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, select, update
from sqlalchemy.orm import Session

from tui.intake.fields import FIELD_NAMES
from tui.intake.report import SKIP_CODES
from tui.intake.rules import check_learners
from tui.service.checks import check_rows
from tui.service.db import Import, Invitation, Learner, Program
from tui.service.frames import read_frame
from tui.service.invitations import (
    ImportConflict,
    all_rows_received,
    create_invitations,
    lock_for_invitations,
    resend_many,
    revoke_many,
    search_keys,
)
from tui.service.policy import invitation_lifetime
from tui.service.seats import is_pending

_IN_CHUNK = 5_000

_PROGRAM_SCHEMA: dict[str, pl.DataType] = {
    "invitation_id": pl.Int64(),
    "learner_id": pl.Int64(),
    "status": pl.String(),
    "old_full_name": pl.String(),
    "old_email": pl.String(),
    "old_external_id": pl.String(),
}
_ERROR_SCHEMA = {"row": pl.Int64, "code": pl.String, "message": pl.String}


@dataclass
class SyncOutcome:
    """What a sync does (or did): frames of the rows of each group, and why it is refused."""

    invite: pl.DataFrame
    update: pl.DataFrame
    remove: pl.DataFrame
    unchanged: int
    errors: pl.DataFrame
    learners: int
    refusal: tuple[str, str] | None = None
    counts: dict[str, int] = field(default_factory=dict)


def program_learners(session: Session, program: Program, now: datetime) -> pl.DataFrame:
    """The program's members and live pending invitations, a learner once (a member first),
    with their stored values (`_PROGRAM_SCHEMA`)."""

    def read(status: str, condition: Any) -> pl.DataFrame:
        query = (
            select(
                Invitation.id,
                Invitation.learner_id,
                Invitation.status,
                Learner.full_name,
                Learner.email,
                Learner.external_id,
            )
            .join(Learner, Learner.id == Invitation.learner_id)
            .where(Invitation.program_id == program.id, condition)
            .order_by(Invitation.id)
        )
        return read_frame(session, query, _PROGRAM_SCHEMA).with_columns(status=pl.lit(status))

    members = read("member", Invitation.status == "accepted").unique(
        "learner_id", keep="first", maintain_order=True
    )
    pending = read("pending", is_pending(now)).filter(
        ~pl.col("learner_id").is_in(members["learner_id"].implode())
    )
    return pl.concat([members, pending])


def _file_rows(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The file's rows that pass the row rules (`row`, `full_name`, `email` normalized, its
    `key`, `external_id` or null, `index` in the frame), the errors of the others, and who
    those others may name (`key`, `external_id`): never removed for a row with an error."""
    batch = frame.with_columns(pl.col("external_id").fill_null("")).with_row_index("index")
    learners, issues = check_learners(
        batch.select("row", *FIELD_NAMES).with_columns(
            pl.lit(None, dtype=pl.Int32).alias("overflow")
        ),
        width=len(FIELD_NAMES),
    )
    failed = issues.filter(pl.col("severity") == "error")
    valid = batch.with_columns(email=learners["email_normalized"]).filter(
        pl.col("email").is_not_null() & ~pl.col("row").is_in(failed["row"].implode())
    )
    rows = valid.select(
        pl.col("index"),
        pl.col("row").cast(pl.Int64),
        "full_name",
        "email",
        pl.col("email").str.to_lowercase().alias("key"),
        pl.when(pl.col("external_id") != "").then(pl.col("external_id")).alias("external_id"),
    )
    errors = failed.select(pl.col("row").cast(pl.Int64), "code", "message").unique(
        "row", keep="first", maintain_order=True
    )
    named = batch.filter(~pl.col("index").is_in(valid["index"].implode())).select(
        pl.col("email").str.strip_chars().str.to_lowercase().alias("key"),
        pl.when(pl.col("external_id") != "").then(pl.col("external_id")).alias("external_id"),
    )
    return rows, errors, named


def diff(
    rows: pl.DataFrame, learners: pl.DataFrame, named: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, int]:
    """(to invite: file rows; to update: file rows with the learner's `old_` values; not in
    the file: program learners; how many unchanged). Matched on the External ID where both
    have one, else on the email's key. A learner a row with errors may name (`named`: its
    email's key or External ID) is not counted as missing from the file."""
    stored = learners.with_columns(pl.col("old_email").str.to_lowercase().alias("old_key"))
    by_id = rows.filter(pl.col("external_id").is_not_null()).join(
        stored.filter(pl.col("old_external_id").is_not_null()),
        left_on="external_id",
        right_on="old_external_id",
        how="inner",
        coalesce=False,
    )
    rest = rows.filter(~pl.col("index").is_in(by_id["index"].implode()))
    left = stored.filter(~pl.col("learner_id").is_in(by_id["learner_id"].implode()))
    by_email = rest.join(left, left_on="key", right_on="old_key", how="inner", coalesce=False)
    # Both with an External ID, and not the same one: two people.
    by_email = by_email.filter(
        pl.col("external_id").is_null() | pl.col("old_external_id").is_null()
    )
    matched = pl.concat([by_id.select(by_email.columns), by_email])
    invite = rows.filter(~pl.col("index").is_in(matched["index"].implode()))
    remove = learners.filter(
        ~pl.col("learner_id").is_in(matched["learner_id"].implode())
        & ~pl.col("old_email").str.to_lowercase().is_in(named["key"].implode())
        & ~pl.col("old_external_id")
        .is_in(named["external_id"].drop_nulls().implode())
        .fill_null(value=False)
    )
    differs = (
        (pl.col("full_name") != pl.col("old_full_name"))
        | (pl.col("email") != pl.col("old_email"))
        | (
            pl.col("external_id").is_not_null()
            & pl.col("external_id").ne_missing(pl.col("old_external_id"))
        )
    )
    update = matched.filter(differs).sort("row")
    return invite, update, remove, matched.height - update.height


def _taken(session: Session, organization_id: int, update: pl.DataFrame) -> pl.DataFrame:
    """The updates whose new email or External ID another learner of the organization has:
    errors (`row`, `code`, `message`)."""
    changed_key = update.filter(pl.col("key") != pl.col("old_email").str.to_lowercase())
    changed_id = update.filter(
        pl.col("external_id").is_not_null()
        & pl.col("external_id").ne_missing(pl.col("old_external_id"))
    )
    found: list[pl.DataFrame] = []
    for frame, column, name in (
        (changed_key, Learner.email_key, "key"),
        (changed_id, Learner.external_id, "external_id"),
    ):
        values = frame[name].to_list()
        owners = pl.concat(
            [
                pl.DataFrame(schema={"value": pl.String, "owner": pl.Int64}),
                *(
                    read_frame(
                        session,
                        select(column, Learner.id).where(
                            Learner.organization_id == organization_id,
                            column.in_(values[start : start + _IN_CHUNK]),
                        ),
                        {"value": pl.String(), "owner": pl.Int64()},
                    )
                    for start in range(0, len(values), _IN_CHUNK)
                ),
            ]
        )
        clash = frame.join(owners, left_on=name, right_on="value").filter(
            pl.col("owner") != pl.col("learner_id")
        )
        what = "email" if name == "key" else "External ID"
        found.append(
            clash.select(
                "row",
                pl.lit(f"{name}_taken").alias("code"),
                pl.format(
                    "The {} {} belongs to another learner of the organization; correct the row.",
                    pl.lit(what),
                    pl.col("email" if name == "key" else "external_id"),
                ).alias("message"),
            )
        )
    return pl.concat(found).unique("row", keep="first").sort("row")


def commit_sync(
    session: Session,
    record: Import,
    expected_rows: int,
    today: date,
    *,
    max_share: float,
    now: datetime,
) -> SyncOutcome:
    """Apply the sync in the caller's transaction (`write_session`). A refusal (too many
    removals, the contract's seats) raises ImportConflict with nothing written; a preview
    catches it, reads `refusal`, and rolls back."""
    if record.status != "open":
        raise ImportConflict(f"import_{record.status}", f"The import is {record.status}.")
    frame = all_rows_received(session, record.id, expected_rows)
    program, contract = lock_for_invitations(session, record.program_id, record.contract_id)
    rows, errors, named = _file_rows(frame)
    learners = program_learners(session, program, now)
    invite, update_rows, remove, unchanged = diff(rows, learners, named)
    taken = _taken(session, program.organization_id, update_rows)
    if taken.height:
        update_rows = update_rows.filter(~pl.col("row").is_in(taken["row"].implode()))
        errors = pl.concat([errors, taken])
    outcome = SyncOutcome(
        invite=invite,
        update=update_rows,
        remove=remove,
        unchanged=unchanged,
        errors=errors,
        learners=learners.height,
    )
    allowed = int(max_share * learners.height + 1e-9)  # 0.29 * 100 is 28.999...: 29
    if record.remove_missing and remove.height > max(allowed, record.max_removals or 0):
        outcome.refusal = (
            "too_many_removals",
            f"The sync would remove {remove.height:,} of the program's {learners.height:,} "
            f"learners, more than the {max_share:.0%} allowed ({allowed:,}). If the file is "
            f"right, run it again with --max-removals {remove.height}.",
        )
        return outcome
    _update_learners(session, update_rows)
    emailed = _email_updated(session, record, update_rows, now)
    removed = revoked = 0
    if record.remove_missing:
        removed, revoked = _remove(session, remove, record.file_name, now)
    # Invited as an import invites, seats checked: after the removals freed theirs.
    wanted = frame[invite["index"]]
    checked = check_rows(session, program, contract, wanted, today, owed_since=record.created_at)
    if checked.file_errors:
        first = checked.file_errors[0]
        outcome.refusal = (first.code, first.message)
        return outcome
    ready = wanted["row"].gather(checked.ready["index"]).cast(pl.Int64)
    not_ready = invite.filter(~pl.col("row").is_in(ready.implode())).select("row")
    if not_ready.height:
        why = (
            checked.all_issues.filter(
                (pl.col("severity") == "error") | pl.col("code").is_in(SKIP_CODES)
            )
            .select(pl.col("row").cast(pl.Int64), "code", "message")
            .unique("row", keep="first")
        )
        outcome.errors = pl.concat(
            [outcome.errors, not_ready.join(why, on="row", how="left").select(list(_ERROR_SCHEMA))]
        ).sort("row")
        outcome.invite = invite.filter(pl.col("row").is_in(ready.implode()))
    invited = create_invitations(
        session,
        program,
        contract,
        wanted,
        checked,
        record.send_emails,
        import_id=record.id,
        message_id=record.message_id,
        update_learners=True,
    )
    outcome.counts = {
        "invited": invited,
        "updated": update_rows.height,
        "removed": removed,
        "revoked": revoked,
        "emailed_updated": emailed,
        "unchanged": unchanged,
        "errors": outcome.errors.height,
    }
    return outcome


_UPDATES = Table(
    "roster_sync_updates",
    MetaData(),
    Column("learner_id", Integer, primary_key=True),
    Column("full_name", String),
    Column("email", String),
    Column("email_key", String),
    Column("external_id", String),
    Column("search_key", Text),
    prefixes=["TEMPORARY"],
)


def _update_learners(session: Session, update_rows: pl.DataFrame) -> None:
    """The updated learners take the file's Full Name, email and External ID (a none keeps
    theirs): the rows staged in a temporary table, then one UPDATE from it."""
    if not update_rows.height:
        return
    external_id = pl.coalesce("external_id", "old_external_id")
    staged = update_rows.select(
        "learner_id",
        "full_name",
        "email",
        pl.col("key").alias("email_key"),
        external_id.alias("external_id"),
        search_keys(update_rows.select("full_name", "email", external_id)).alias("search_key"),
    )
    connection = session.connection()
    _UPDATES.create(connection)
    connection.execute(_UPDATES.insert(), staged.to_dicts())
    new = _UPDATES.c
    ids = select(new.learner_id)
    connection.execute(
        update(Learner)
        .where(Learner.id.in_(ids))
        .values(
            {
                name: select(new[name]).where(new.learner_id == Learner.id).scalar_subquery()
                for name in ("full_name", "email", "email_key", "external_id", "search_key")
            }
        )
        .execution_options(synchronize_session=False)
    )
    _UPDATES.drop(connection)


def _email_updated(
    session: Session, record: Import, update_rows: pl.DataFrame, now: datetime
) -> int:
    """With `email_updated` (and emails sent), a new email for each pending invitation whose
    learner's email the sync changed, at the new address; how many."""
    if not (record.email_updated and record.send_emails):
        return 0
    moved = update_rows.filter(
        (pl.col("status") == "pending") & (pl.col("email") != pl.col("old_email"))
    )["invitation_id"].to_list()
    lifetime = invitation_lifetime(session, record.organization_id)
    emailed = 0
    for start in range(0, len(moved), _IN_CHUNK):
        part = select(Invitation.id).where(Invitation.id.in_(moved[start : start + _IN_CHUNK]))
        emailed += resend_many(session, part, now, lifetime)[1]
    return emailed


def _remove(
    session: Session, remove: pl.DataFrame, file_name: str, now: datetime
) -> tuple[int, int]:
    """Remove the members (their seats freed) and revoke the pending invitations of `remove`."""
    members = remove.filter(pl.col("status") == "member")["invitation_id"].to_list()
    reason = f"Not in the synced file {file_name}".strip()
    for start in range(0, len(members), _IN_CHUNK):
        session.execute(
            update(Invitation)
            .where(Invitation.id.in_(members[start : start + _IN_CHUNK]))
            .values(status="removed", removed_at=now, removed_reason=reason)
            .execution_options(synchronize_session=False)
        )
    pending = remove.filter(pl.col("status") == "pending")["invitation_id"].to_list()
    revoked = 0
    for start in range(0, len(pending), _IN_CHUNK):
        part = pending[start : start + _IN_CHUNK]
        revoked += revoke_many(session, select(Invitation.id).where(Invitation.id.in_(part)), now)[
            1
        ]
    return len(members), revoked
