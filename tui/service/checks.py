"""The service's checks on learner rows (DESIGN §2), shared by the dry run and the commit.

The service trusts no client: every batch goes through the intake's own row rules first, so a
row that would fail `roster check` can never be stored, whoever sent it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import polars as pl
from pydantic import TypeAdapter
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from tui.intake.fields import FIELD_NAMES
from tui.intake.report import SKIP_CODES, Issue, Problem
from tui.intake.rules import ISSUE_SCHEMA, check_learners, learner_differences, skip_issues, text_of
from tui.service.db import Contract, Invitation, Learner, Program, utcnow
from tui.service.frames import read_frame
from tui.service.seats import (
    archived_refusal,
    contract_program_ids,
    is_pending,
    seats_used,
    unavailable_reason,
)
from tui.text import noun, plural
from tui.wire.models import RowBatch

# Below this many learners in the organization, loading them all beats querying by email.
_LOAD_ALL_BELOW = 200_000
_IN_BATCH = 500


@dataclass
class Checked:
    """The verdict on a batch: what to invite, what to skip, and why.

    `ready` has a row per learner to invite: `index` in the batch, the `normalized` email, the
    existing `learner_id` (null for a new learner) and that learner's `learner_external_id`
    and `learner_name`. `known` has the ready rows of stored learners, with the stored values
    (`row`, `stored_name`, `stored_external_id`): the dry run sends no names, so its client
    compares them (rules.learner_differences).
    It stays a frame: a dry run only counts it, and a million Python objects would cost more
    than the check.
    """

    file_errors: list[Problem] = field(default_factory=list)
    # Row by row (ISSUE_SCHEMA), in row order, but for the skipped rows (`all_issues`).
    issue_frame: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=ISSUE_SCHEMA))
    ready: pl.DataFrame = field(default_factory=pl.DataFrame)
    known: pl.DataFrame = field(default_factory=pl.DataFrame)
    skipped: Counter[str] = field(default_factory=Counter)
    # The skipped rows (`row`, `index` in the batch, `code`), apart: the dry run sends only
    # their numbers (its client words them, rules.skip_issues), and a re-run's file has a
    # million of them. `all_issues` words them with the batch's `emails`.
    skip_rows: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(
            schema={"row": pl.UInt32, "index": pl.UInt32, "code": pl.String}
        )
    )
    emails: pl.Series = field(default_factory=lambda: pl.Series(dtype=pl.String))
    program_name: str = ""
    errors: int = 0
    seats_left: int | None = None
    # Pending invitations of skipped rows whose email is still queued or retrying.
    owed: list[int] = field(default_factory=list)

    @property
    def all_issues(self) -> pl.DataFrame:
        """Every row issue (ISSUE_SCHEMA), the skipped rows' warnings included, in row order. A
        frame: a file checked again against its own invitations has a million already_invited
        rows, which as pydantic objects cost seconds."""
        if not self.skip_rows.height:
            return self.issue_frame
        skipped = skip_issues(
            self.skip_rows.with_columns(email=self.emails.gather(self.skip_rows["index"])),
            self.program_name,
        )
        return pl.concat([self.issue_frame, skipped]).sort("row", maintain_order=True)

    @property
    def issues(self) -> list[Issue]:
        return _issues(self.all_issues)


def rows_frame(rows: RowBatch) -> pl.DataFrame:
    """A batch as the frame `check_rows` takes: `row`, then the learner fields in table order."""
    return pl.DataFrame(
        {
            "row": pl.Series(rows.row, dtype=pl.UInt32),
            **{name: pl.Series(getattr(rows, name), dtype=pl.String) for name in FIELD_NAMES},
        }
    )


def check_rows(
    session: Session,
    program: Program,
    contract: Contract,
    rows: pl.DataFrame,
    today: date,
    *,
    owed_since: datetime | None = None,
) -> Checked:
    """The checks of DESIGN §2 before invitations are made, on a batch (`rows_frame`): the
    file's row rules again, for the service trusts no client, then the verdict.

    The pending invitations of skipped rows whose email is still owed become the import's
    (`owed`): queued or retrying, or sent since `owed_since` (the import's start: a re-run's own
    sender may deliver them before the commit).
    """
    batch = _numbered(rows)
    learners, row_issues = check_learners(
        batch.select("row", *FIELD_NAMES).with_columns(
            pl.lit(None, dtype=pl.Int32).alias("overflow")
        ),
        width=len(FIELD_NAMES),
    )
    normalized = learners["email_normalized"]
    failed = row_issues.filter(pl.col("severity") == "error")["row"].unique()
    batch = batch.with_columns(
        normalized.alias("normalized"),
        (pl.col("row").is_in(failed.implode()) | normalized.is_null()).alias("failed"),
    )
    owed = pl.col("email_status").is_in(("queued", "retrying"))
    if owed_since is not None:
        owed |= (pl.col("email_status") == "sent") & (pl.col("email_sent_at") >= owed_since)
    return _verdict(session, program, contract, batch, today, row_issues=row_issues, owed=owed)


def check_dry_run(
    session: Session, program: Program, contract: Contract, rows: pl.DataFrame, today: date
) -> Checked:
    """The dry run's checks of DESIGN §2 on rows (`row`, `email`, `external_id`) that passed the
    file's row rules at the client. It sends their emails normalized and no names: the client
    compares the stored learners' (`known`) itself. A dry run owes no email."""
    batch = _numbered(rows).with_columns(
        pl.col("email").alias("normalized"), pl.col("email").is_null().alias("failed")
    )
    return _verdict(session, program, contract, batch, today, row_issues=_NO_ISSUES, owed=None)


def _numbered(rows: pl.DataFrame) -> pl.DataFrame:
    """The rows with their `index` in the batch, and '' for a missing External ID."""
    return rows.with_columns(pl.col("external_id").fill_null("")).with_row_index("index")


def _verdict(
    session: Session,
    program: Program,
    contract: Contract,
    batch: pl.DataFrame,
    today: date,
    *,
    row_issues: pl.DataFrame,
    owed: pl.Expr | None,
) -> Checked:
    """The verdict on a `_numbered` batch with its `normalized` emails and the rows the row
    rules `failed` (`row_issues`): the contract's state and seats, who is already a member or
    invited, External IDs of other learners, and (when the batch has names) stored learners
    the file would change. `owed` picks the skipped rows' invitations whose email is owed;
    None reads no email statuses."""
    now = utcnow()
    checked = Checked(emails=batch["normalized"], program_name=program.name)
    checked.seats_left, checked.file_errors = _contract_state(
        session, program, contract, today, now
    )
    joined = _judged(session, program, batch, now, owed)
    verdicts = joined["verdict"].cast(pl.String).value_counts()
    ready = joined.filter(pl.col("verdict") == "ready").select(
        "index", "learner_id", "learner_external_id"
    )
    # Names only for the stored learners about to be invited (a re-run has none).
    ready = ready.join(
        _names(session, program.organization_id, ready["learner_id"].drop_nulls()),
        on="learner_id",
        how="left",
        maintain_order="left",
    )
    owed_ids = joined.filter(pl.col("verdict") == "already_invited").select(
        pl.col("owed").drop_nulls().unique().alias("invitation_id")
    )
    flagged = joined.filter(pl.col("conflict") | pl.col("verdict").is_in(SKIP_CODES)).select(
        "index", pl.col("verdict").cast(pl.String), "conflict"
    )
    del joined
    counts = dict(verdicts.iter_rows())
    checked.errors = counts.get("error", 0)
    checked.skipped.update({code: counts[code] for code in SKIP_CODES if code in counts})
    checked.ready = ready.select(
        "index",
        batch["normalized"].gather(ready["index"]).alias("normalized"),
        "learner_id",
        "learner_external_id",
        "learner_name",
    )
    stored = ready.filter(pl.col("learner_id").is_not_null())
    checked.known = stored.select(
        batch["row"].gather(stored["index"]).alias("row"),
        pl.col("learner_name").alias("stored_name"),
        pl.col("learner_external_id").alias("stored_external_id"),
    )
    issues = [row_issues]
    if "full_name" in batch.columns:  # the same rule as the dry run's client
        issues.append(
            learner_differences(
                checked.known.with_columns(
                    batch["full_name"].gather(stored["index"]).alias("full_name"),
                    batch["external_id"].gather(stored["index"]).alias("external_id"),
                )
            )
        )
    checked.owed = owed_ids["invitation_id"].to_list()
    skips = flagged.filter(~pl.col("conflict"))
    checked.skip_rows = skips.select(
        batch["row"].gather(skips["index"]).alias("row"), "index", pl.col("verdict").alias("code")
    )
    issues.append(_conflict_issues(flagged.filter("conflict"), batch))
    capacity = _capacity_problem(contract, checked.seats_left, checked.ready.height)
    if capacity is not None:
        checked.file_errors.append(capacity)
    checked.issue_frame = pl.concat(
        [part.select(list(ISSUE_SCHEMA)).cast(ISSUE_SCHEMA) for part in issues]  # type: ignore[arg-type]
    ).sort("row", maintain_order=True)
    return checked


def _contract_state(
    session: Session, program: Program, contract: Contract, today: date, now: datetime
) -> tuple[int | None, list[Problem]]:
    """The contract's seats left (None: it has no limit) and, if it cannot take invitations
    for the program, the file error saying why. A full contract is no error here: whether the
    seats left are enough depends on the ready rows (`_capacity_problem`)."""
    # A contract without a seat limit is never full: its seats are not counted (0.12 s at a
    # million invitations).
    used = 0 if contract.seats is None else seats_used(session, contract.id, now)
    seats_left = None if contract.seats is None else max(contract.seats - used, 0)
    if archived := archived_refusal(program, contract):
        return seats_left, [Problem(code="archived", message=archived)]
    reason = unavailable_reason(
        contract, contract_program_ids(session, contract.id), used, program.id, today
    )
    if not reason or reason.startswith("full"):
        return seats_left, []
    return seats_left, [
        Problem(
            code="contract_unavailable",
            message=f'The contract "{contract.name}" {reason}. '
            "Choose a contract that is active for this program.",
        )
    ]


def _judged(
    session: Session, program: Program, batch: pl.DataFrame, now: datetime, owed: pl.Expr | None
) -> pl.DataFrame:
    """A row per row of the batch: its `index`, `verdict` (ready, error or a skip code),
    whether its External ID is another learner's (`conflict`), the stored `learner_id` and
    `learner_external_id` of its email, and the invitation whose email it is `owed`."""
    existing = _existing(
        session, program.organization_id, batch["normalized"], batch["external_id"]
    )
    # Without `owed` (the dry run) the emails' statuses are not needed: it reads less.
    statuses = _program_statuses(session, program.id, now, emails=owed is not None)
    owners = existing.filter(pl.col("learner_external_id").is_not_null()).select(
        pl.col("learner_external_id").alias("external_id"), pl.col("learner_id").alias("owner")
    )
    conflict = (
        ~pl.col("failed")
        & pl.col("owner").is_not_null()
        & (pl.col("learner_id").is_null() | (pl.col("owner") != pl.col("learner_id")))
    )
    verdict = (
        pl.when(pl.col("failed") | conflict)
        .then(pl.lit("error"))
        .when(pl.col("status") == "accepted")
        .then(pl.lit("already_member"))
        .when(pl.col("status") == "pending")
        .then(pl.lit("already_invited"))
        .otherwise(pl.lit("ready"))
        .cast(_VERDICT)
    )
    # The joins carry only the keys and the row index, never the emails, into one narrow
    # frame, a byte per verdict: the answers are cheap filters of it.
    return (
        batch.lazy()
        .select(
            "index", pl.col("normalized").str.to_lowercase().alias("key"), "external_id", "failed"
        )
        .join(existing.lazy(), on="key", how="left", maintain_order="left")
        .join(owners.lazy(), on="external_id", how="left", maintain_order="left")
        .join(statuses.lazy(), on="learner_id", how="left", maintain_order="left")
        .select(
            "index",
            verdict.alias("verdict"),
            conflict.alias("conflict"),
            "learner_id",
            "learner_external_id",
            pl.when(pl.lit(value=False) if owed is None else owed)
            .then("invitation_id")
            .alias("owed"),
        )
        .collect(engine="streaming")
    )


def _conflict_issues(conflicts: pl.DataFrame, batch: pl.DataFrame) -> pl.DataFrame:
    """An `external_id_conflict` error (ISSUE_SCHEMA) for each row of `conflicts` (`index`)."""
    return conflicts.hstack(batch.select("row", "external_id")[conflicts["index"]]).select(
        "row",
        pl.lit("External ID").alias("column"),
        pl.lit("error").alias("severity"),
        pl.lit("external_id_conflict").alias("code"),
        text_of(
            "External ID {} belongs to another learner of the organization; "
            "correct the External ID or the email.",
            "external_id",
        ).alias("message"),
    )


def _capacity_problem(contract: Contract, seats_left: int | None, wanted: int) -> Problem | None:
    """The file error when the `wanted` ready rows need more seats than are left."""
    if seats_left is None or wanted <= seats_left:
        return None
    return Problem(
        code="contract_capacity",
        message=f'The contract "{contract.name}" has {plural(seats_left, "seat")} left; '
        f"the {plural(wanted, 'ready row')} {noun(wanted, 'needs', 'need')} {wanted:,}. Choose a "
        f"contract with more seats, or invite at most {plural(seats_left, 'learner')}.",
    )


_VERDICT = pl.Enum(["ready", "error", *SKIP_CODES])
_NO_ISSUES = pl.DataFrame(schema=ISSUE_SCHEMA)
_ISSUES = TypeAdapter(list[Issue])


def _issues(frame: pl.DataFrame) -> list[Issue]:
    return _ISSUES.validate_json(frame.write_json()) if frame.height else []


def _existing(
    session: Session, organization_id: int, emails: pl.Series, external_ids: pl.Series
) -> pl.DataFrame:
    """The organization's learners with these (normalized) emails or External IDs:
    `key`, `learner_id`, `learner_external_id`."""
    query = select(Learner.email_key, Learner.id, Learner.external_id).where(
        Learner.organization_id == organization_id
    )
    count = (
        session.scalar(
            select(func.count())
            .select_from(Learner)
            .where(Learner.organization_id == organization_id)
        )
        or 0
    )
    # Reading them all is cheaper unless the organization has many more than the batch names.
    if count < max(_LOAD_ALL_BELOW, 4 * len(emails)):
        rows_at_most = session.scalar(select(func.max(Learner.id))) or 0
        if 2 * count >= rows_at_most:
            # The organization holds most of the table: read the table in its order rather
            # than the index in email order, a table lookup per learner (0.6 s to 0.5 s a
            # million). The + 0 keeps the index out (SQLite and PostgreSQL alike).
            query = select(Learner.email_key, Learner.id, Learner.external_id).where(
                Learner.organization_id + 0 == organization_id
            )
        found = read_frame(session, query, _LEARNER_SCHEMA)
    else:
        wanted_keys = emails.drop_nulls().str.to_lowercase().unique()
        wanted_ids = external_ids.filter(external_ids != "").unique()
        wanted = ((wanted_keys, Learner.email_key), (wanted_ids, Learner.external_id))
        parts = [
            read_frame(session, query.where(column.in_(values)), _LEARNER_SCHEMA)
            for values_of, column in wanted
            for values in (
                values_of.slice(start, _IN_BATCH).to_list()
                for start in range(0, len(values_of), _IN_BATCH)
            )
        ]
        # A learner found by email and by External ID comes twice.
        found = pl.concat([pl.DataFrame(schema=_LEARNER_SCHEMA), *parts]).unique("learner_id")
    return found


_LEARNER_SCHEMA: dict[str, pl.DataType] = {
    "key": pl.String(),
    "learner_id": pl.Int64(),
    "learner_external_id": pl.String(),
}
_NAME_SCHEMA: dict[str, pl.DataType] = {"learner_id": pl.Int64(), "learner_name": pl.String()}
# Up to this many learners, their names are read by id; more, the organization's all at once.
_NAMES_BY_ID = 20_000


def _names(session: Session, organization_id: int, learner_ids: pl.Series) -> pl.DataFrame:
    """`learner_id`, `learner_name` of these learners of the organization."""
    query = select(Learner.id, Learner.full_name)
    if len(learner_ids) > _NAMES_BY_ID:
        return read_frame(
            session, query.where(Learner.organization_id == organization_id), _NAME_SCHEMA
        )
    ids = learner_ids.unique()
    parts = [
        read_frame(
            session,
            query.where(Learner.id.in_(ids.slice(start, _IN_BATCH).to_list())),
            _NAME_SCHEMA,
        )
        for start in range(0, len(ids), _IN_BATCH)
    ]
    return pl.concat([pl.DataFrame(schema=_NAME_SCHEMA), *parts])


_STATUS_SCHEMA: dict[str, pl.DataType] = {
    "learner_id": pl.Int64(),
    "status": pl.String(),
    "invitation_id": pl.Int64(),
    "email_status": pl.String(),
    "email_sent_at": pl.Datetime("us"),
}


def _program_statuses(
    session: Session, program_id: int, now: datetime, *, emails: bool = True
) -> pl.DataFrame:
    """`learner_id` and `status` ('accepted' or 'pending') of the program's live invitations,
    with their `invitation_id`, `email_status` and `email_sent_at` if `emails` (else null).

    The accepted and the pending are read apart, each a range of the program's seat index and
    neither with its status as text: at a million invitations, 0.2 s against 0.5 s for one
    read of both."""
    read_as: dict[str, InstrumentedAttribute[Any]] = {"learner_id": Invitation.learner_id}
    if emails:
        read_as |= {
            "invitation_id": Invitation.id,
            "email_status": Invitation.email_status,
            "email_sent_at": Invitation.email_sent_at,
        }
    query = select(*read_as.values()).where(Invitation.program_id == program_id)
    schema = {name: _STATUS_SCHEMA[name] for name in read_as}

    unread = {
        name: pl.lit(None, dtype)
        for name, dtype in _STATUS_SCHEMA.items()
        if name not in schema and name != "status"
    }

    def read(status: str, condition: ColumnElement[bool]) -> pl.DataFrame:
        frame = read_frame(session, query.where(condition), schema)
        return frame.with_columns(status=pl.lit(status), **unread).select(list(_STATUS_SCHEMA))

    # A learner who accepted once is a member, whatever else is pending (a learner has at most
    # one pending invitation per program).
    accepted = read("accepted", Invitation.status == "accepted").unique("learner_id")
    pending = read("pending", is_pending(now)).filter(
        ~pl.col("learner_id").is_in(accepted["learner_id"].implode())
    )
    return pl.concat([accepted, pending])
