"""Creating invitations: the import commit and the single invitation, each one transaction.

Exactly once comes from the database, not from the client: a commit creates every invitation and
its outbox row in one transaction, the unique index allows one pending invitation per program and
learner, and a re-run finds the learners already invited and skips them.
"""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import date, datetime, timedelta
from typing import Any, cast

import polars as pl
from pydantic import TypeAdapter
from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    DateTime,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    Text,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from tui.intake.fields import (
    EMAIL_FIELD,
    IDENTIFIER_FIELD,
    LEARNER_FIELDS,
    NAME_FIELD,
    OPTIONAL_FIELDS,
    LearnerField,
)
from tui.intake.report import Issue
from tui.service import chunks
from tui.service.audit import MAX_NAMED_LEARNERS
from tui.service.checks import Checked, check_rows
from tui.service.commit_progress import CommitProgress, batch_rows
from tui.service.db import (
    Base,
    Contract,
    Import,
    ImportChunk,
    ImportFollowup,
    Invitation,
    Learner,
    OutboxKind,
    OutboxMessage,
    Program,
    utcnow,
)
from tui.service.links import new_key
from tui.service.policy import invitation_lifetime
from tui.service.seats import archived_refusal, is_pending, seats_used, unavailable_reason
from tui.service.seats import contract_program_ids as covered_programs
from tui.text import fold
from tui.wire import models as wire

# The columns every invitation made by one create_invitations shares, and their values.
Shared = dict[str, int | str | datetime | None]


def table(model: type[Base]) -> Table:
    """The model's table, for Core bulk statements that skip the ORM's per-row work."""
    return cast(Table, model.__table__)


class ImportConflict(Exception):
    """The commit cannot happen as asked (file errors, missing rows); nothing was written."""

    def __init__(
        self,
        code: str,
        message: str,
        checked: Checked | None = None,
        *,
        final: bool = True,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.checked = checked
        # A final refusal ends the import `rejected`; a missing chunk can still be sent.
        self.final = final

    @property
    def seats_left(self) -> int | None:
        return self.checked.seats_left if self.checked else None


def all_rows_received(session: Session, import_id: int, expected_rows: int) -> pl.DataFrame:
    """The import's rows (`import_rows`), once all `expected_rows` came; else the conflict that
    asks the client for the missing chunks (it may retry: not final)."""
    frame = import_rows(session, import_id)
    if frame.height != expected_rows:
        raise ImportConflict(
            "incomplete_import",
            f"The service received {frame.height:,} of the {expected_rows:,} rows; "
            "send the missing chunks again, then commit.",
            final=False,
        )
    return frame


def import_rows(session: Session, import_id: int) -> pl.DataFrame:
    """All rows received for an import, in chunk order, as the frame `check_rows` takes."""
    payloads = session.scalars(
        select(ImportChunk.rows).where(ImportChunk.import_id == import_id).order_by(ImportChunk.seq)
    )
    return chunks.read_stored(payloads)


def commit_import(
    session: Session,
    record: Import,
    expected_rows: int,
    today: date,
    *,
    owed_since: datetime | None = None,
    unsent: wire.ImportCommit | None = None,
    progress: CommitProgress | None = None,
) -> tuple[int, list[str]]:
    """Create the import's invitations and queue their emails, all or nothing. Returns how
    many stored learners it gave the file's values (`update_learners`) and their emails, at
    most one more than the audit record names.

    `unsent` is what the client says of the file's rows it did not send (rows with errors, rows
    left out) and of the sent rows it warned of: the import counts them with its own.

    The skipped rows' emails still owed become the import's: queued or retrying, or sent since
    the import started, or since `owed_since` when that is earlier (the start of the command
    whose embedded service delivered them before its import started).

    The caller's session must come from `write_session`: the seats counted here are the seats
    taken, whatever other imports and invitations run at the same moment. `progress` hears each
    phase and its counts (`tui.service.commit_progress`).
    """
    progress = progress or CommitProgress()
    if record.status == "committed":
        return 0, []
    if record.status == "rejected":
        raise ImportConflict("import_rejected", "The import was refused; start a new one.")
    if record.status == "abandoned":
        raise ImportConflict(
            "import_abandoned",
            "The import was abandoned (its upload stopped, or the disk failed it) and its rows "
            "dropped; start a new one.",
        )
    progress.advance("checking", 0, expected_rows)
    frame = all_rows_received(session, record.id, expected_rows)
    program, contract = lock_for_invitations(session, record.program_id, record.contract_id)
    since = record.created_at if owed_since is None else min(record.created_at, owed_since)
    checked = check_rows(session, program, contract, frame, today, owed_since=since)
    progress.advance("checking", frame.height, expected_rows)
    if checked.file_errors:
        first = checked.file_errors[0]
        raise ImportConflict(first.code, first.message, checked)
    invited = create_invitations(
        session,
        program,
        contract,
        frame,
        checked,
        record.send_emails,
        import_id=record.id,
        message_id=record.message_id,
        update_learners=record.update_learners,
        progress=progress,
    )
    progress.advance("saving", 0, 0)
    if checked.owed:
        session.execute(
            insert(ImportFollowup),
            [{"import_id": record.id, "invitation_id": id_} for id_ in checked.owed],
        )
    record.status = "committed"
    record.rows = frame.height
    record.invited = invited
    record.skipped = dict(checked.skipped)
    unsent = unsent or wire.ImportCommit(rows=expected_rows)
    record.errors = checked.errors + unsent.errors
    record.rows_left_out = unsent.left_out
    invited_rows = frame["row"].gather(checked.ready["index"])
    record.invited_rows = row_runs(invited_rows)
    # As JSON from the frame: a file imported again has a million issues, which as pydantic
    # objects and back cost seconds.
    issues = checked.all_issues
    record.warnings = _warned(invited_rows, issues, unsent.warned)
    record.issues = json.loads(issues.write_json()) if issues.height else []
    record.committed_at = utcnow()
    # The rows are in the invitations now; the chunks were only a staging area.
    session.execute(delete(ImportChunk).where(ImportChunk.import_id == record.id))
    return _updated_learners(frame, checked, issues) if record.update_learners else (0, [])


def _warned(invited_rows: pl.Series, issues: pl.DataFrame, warned: list[int]) -> int:
    """The invited rows with a warning: the client's (`warned`) or the service's own."""
    differ = issues.filter(pl.col("severity") == "warning")["row"].cast(pl.Int64)
    rows = pl.concat([differ, pl.Series(warned, dtype=pl.Int64)])
    return int(invited_rows.cast(pl.Int64).is_in(rows.implode()).sum())


def _updated_learners(
    frame: pl.DataFrame, checked: Checked, issues: pl.DataFrame
) -> tuple[int, list[str]]:
    """The ready rows' emails whose stored learner differed (`learner_differs`): those an
    import with `update_learners` changed; at most one more than the audit record names."""
    differ = issues.filter(pl.col("code") == "learner_differs")["row"].cast(pl.Int64)
    if not differ.len():
        return 0, []
    rows = frame["row"].gather(checked.ready["index"]).cast(pl.Int64)
    emails = checked.ready["normalized"].filter(rows.is_in(differ.implode()))
    return emails.len(), emails.head(MAX_NAMED_LEARNERS + 1).to_list()


def row_runs(rows: pl.Series) -> list[list[int]]:
    """Row numbers as [first, last] runs of consecutive numbers, in their order: a file's
    invited rows are a few runs however many they are (a run ends at each row left out)."""
    if not rows.len():
        return []
    rows = rows.cast(pl.Int64)
    starts = (rows.diff() != 1).fill_null(True)
    runs = pl.DataFrame({"row": rows, "run": starts.cum_sum()}).group_by("run", maintain_order=True)
    bounds = runs.agg(pl.col("row").first().alias("first"), pl.col("row").last().alias("last"))
    return [[first, last] for first, last in bounds.select("first", "last").iter_rows()]


def reject_import(session: Session, record: Import) -> None:
    """End a refused import: no invitations, and its rows are dropped."""
    record.status = "rejected"
    record.committed_at = utcnow()
    session.execute(delete(ImportChunk).where(ImportChunk.import_id == record.id))


def create_invitations(
    session: Session,
    program: Program,
    contract: Contract,
    rows: pl.DataFrame,
    checked: Checked,
    send_emails: bool,
    import_id: int | None = None,
    message_id: int | None = None,
    update_learners: bool = False,
    progress: CommitProgress | None = None,
) -> int:
    """Insert learners, invitations and outbox rows for the checked batch's (`rows_frame`)
    ready rows; their emails carry the admin's message `message_id`, if any. With
    `update_learners`, stored learners take the file's Full Name and External ID where they
    differ (`learner_differs`, which the import reports either way).

    Set operations, never a Python object per row. On PostgreSQL the new learners and the
    invitations are each one COPY of rows polars wrote; on SQLite the ready rows go into a
    temporary table, and the learners and invitations are INSERT ... SELECT from it. The
    emails are INSERT ... SELECT of the new invitations. At a million rows the ORM's
    executemany took most of a minute. Each step goes `batch_rows()` rows at a time (a
    statement or a COPY write each), and `progress` hears the rows written of each phase.
    """
    progress = progress or CommitProgress()
    ready = _ready_rows(rows, checked, update_learners)
    if ready.height == 0:
        return 0
    now = utcnow()
    connection = session.connection()
    # What every invitation of this call shares.
    shared: Shared = {
        "organization_id": program.organization_id,
        "program_id": program.id,
        "contract_id": contract.id,
        "import_id": import_id,
        "message_id": message_id,
        "status": "pending",
        "email_status": "queued" if send_emails else "created",
        "created_at": now,
        # The organization's policy (tui.service.policy): 30 days unless it says otherwise.
        "expires_at": now + invitation_lifetime(session, program.organization_id),
        "email_attempts": 0,
        "email_next_attempt_at": now if send_emails else None,
    }
    # The key finds the link's invitation; the link's proof is what makes it secret
    # (tui.service.links), so keys need only be unique: a random prefix for this call, then
    # the row's position. Keys in order go into the unique index at its end: random ones
    # made the insert of a million invitations three times slower.
    prefix = new_key()[:16]
    before = session.scalar(select(func.max(Invitation.id))) or 0
    if connection.dialect.name == "postgresql":
        _copy_invitations(connection, ready, shared, prefix, update_learners, progress)
    else:
        _insert_invitations(connection, ready, shared, prefix, update_learners, progress)
    if send_emails:
        _queue_emails(connection, program.id, now, before, ready.height, progress)
    return ready.height


def _queue_emails(
    connection: Connection,
    program_id: int,
    now: datetime,
    before: int,
    count: int,
    progress: CommitProgress,
) -> None:
    """An outbox row for each of this call's `count` invitations: above the previous highest
    id `before`, of this program, created `now`; `batch_rows()` ids at a time."""
    highest = connection.scalar(select(func.max(Invitation.id))) or before
    step = batch_rows()
    for low in range(before, highest, step):
        high = min(low + step, highest)
        connection.execute(
            insert(table(OutboxMessage)).from_select(
                ["invitation_id", "status", "attempts", "queued_at", "next_attempt_at"],
                select(
                    Invitation.id, literal("queued"), literal(0), literal(now), literal(now)
                ).where(
                    Invitation.id > low,
                    Invitation.id <= high,
                    Invitation.program_id == program_id,
                    Invitation.created_at == now,
                ),
            )
        )
        progress.advance("emails", min(high - before, count), count)


def _insert_invitations(
    connection: Connection,
    ready: pl.DataFrame,
    shared: Shared,
    prefix: str,
    update_learners: bool,
    progress: CommitProgress,
) -> None:
    """SQLite: the ready rows into a temporary table, with the new learners among them, a
    batch at a time; then the stored learners' changes in one statement, and the invitations a
    batch at a time, each batch one statement from the table."""
    if not ready["position"].is_sorted():  # they come in the file's order: no second copy
        ready = ready.sort("position")
    step, total = batch_rows(), ready.height
    positions = ready["position"]
    staged = _create_staged(connection, postgres=False)
    now = cast(datetime, shared["created_at"])
    for start in range(0, total, step):
        rows = _staged_rows(ready.slice(start, step))
        _stage_sqlite(connection, rows)
        first, last = positions[start], positions[start + rows.height - 1]
        new_learners = select(
            literal(shared["organization_id"]),
            *(staged.c[name] for name in _LEARNER_COLUMNS),
            literal(now, DateTime),
        ).where(staged.c.learner_id.is_(None), staged.c.position.between(first, last))
        connection.execute(
            insert(Learner).from_select(
                ["organization_id", *_LEARNER_COLUMNS, "created_at"], new_learners
            )
        )
        progress.advance("learners", start + rows.height, total)
    _update_stored_learners(connection, staged, update_learners)
    key = literal(prefix) + func.lower(func.printf("%08x", staged.c.position))
    values = {
        name: literal(value, DateTime if isinstance(value, datetime) else None)
        for name, value in shared.items()
    }
    for start in range(0, total, step):
        first, last = positions[start], positions[min(start + step, total) - 1]
        # One invitation per ready row: each is one learner (ready emails are unique), and the
        # unique pending index would refuse a second.
        connection.execute(
            insert(Invitation).from_select(
                [*values, "learner_id", "token_key"],
                select(*values.values(), Learner.id, key)
                .select_from(staged)
                .join(
                    Learner,
                    and_(
                        Learner.organization_id == shared["organization_id"],
                        Learner.email_key == staged.c.email_key,
                    ),
                )
                .where(staged.c.position.between(first, last))
                .order_by(staged.c.position),  # the file's order: the rowid's, no sort
            )
        )
        progress.advance("invitations", min(start + step, total), total)
    # Dropped now, not at the commit: a transaction may create invitations more than once.
    connection.exec_driver_sql("DROP TABLE roster_ready")


def _copy_invitations(
    connection: Connection,
    ready: pl.DataFrame,
    shared: Shared,
    prefix: str,
    update_learners: bool,
    progress: CommitProgress,
) -> None:
    """PostgreSQL: the stored learners' changes from a temporary table of their rows; the new
    learners and the invitations, in the file's order, each one COPY: no join in the
    database, no sort, no staging of the new learners' rows."""
    ready = _staged_rows(ready)
    stored = ready.filter(pl.col("learner_id").is_not_null())
    if stored.height:
        staged = _stage(connection, stored)
        _update_stored_learners(connection, staged, update_learners)
        connection.exec_driver_sql("DROP TABLE roster_ready")
    fresh = ready["learner_id"].is_null().arg_true()
    learner_ids = ready["learner_id"]
    if fresh.len():
        learners = ready[fresh].select(
            pl.lit(shared["organization_id"]).alias("organization_id"),
            *_LEARNER_COLUMNS,
            pl.lit(shared["created_at"]).alias("created_at"),
        )
        before = connection.scalar(select(func.max(Learner.id))) or 0
        _copy(connection, "learners", learners, progress, "learners")
        ids = _copied_ids(connection, learners, before, cast(int, shared["organization_id"]))
        learner_ids = learner_ids.scatter(fresh, ids)
    invitations = pl.DataFrame({"learner_id": learner_ids}).select(
        *(pl.lit(value).alias(name) for name, value in shared.items()),
        "learner_id",
        (pl.lit(prefix) + ready["position"].cast(pl.String).str.zfill(8)).alias("token_key"),
    )
    _copy(connection, "invitations", invitations, progress, "invitations")


def _copied_ids(
    connection: Connection, learners: pl.DataFrame, before: int, organization_id: int
) -> pl.Series:
    """The ids the sequence gave the learners just copied, in their order.

    COPY takes each row's id from the sequence in the file's order, all above `before`. When
    the learners this transaction sees above `before` are as many as it copied and their ids
    one after another, those are its own, in that order: one count, no rows read back. Else
    (another transaction took ids in between) they are read back by email."""
    count, first, last = connection.execute(
        select(func.count(), func.min(Learner.id), func.max(Learner.id)).where(
            Learner.id > before, Learner.organization_id == organization_id
        )
    ).one()
    others = connection.scalar(
        select(func.count()).where(Learner.id > before, Learner.organization_id != organization_id)
    )
    if not others and count == learners.height and last - first + 1 == count:
        return pl.int_range(first, last + 1, eager=True, dtype=pl.Int64)
    made = _copied_out(
        connection,
        f"SELECT email_key, id FROM learners WHERE organization_id = {int(organization_id)} "
        f"AND id > {int(before)}",
        {"email_key": pl.String, "id": pl.Int64},
    )
    ids = learners.select("email_key").join(made, on="email_key", how="left")["id"]
    if ids.null_count():  # a sequence handing out ids out of order (CACHE): write nothing
        raise RuntimeError("new learners were given ids below the highest stored one")
    return ids


def _update_stored_learners(connection: Connection, staged: Table, update_learners: bool) -> None:
    """Stored learners among the staged rows take the file's values (`update_learners`: its
    Full Name, and each optional field it gives), or at least an optional field's value where
    they have none (an External ID: never overwriting one silently)."""
    stored = Learner.id == staged.c.learner_id
    learner = table(Learner).c
    if update_learners:
        differs = [
            _differs(field, learner[field.stored], staged.c[field.stored]) for field in _AS_GIVEN
        ]
        changes = {
            field.stored: _taken(field, learner[field.stored], staged.c[field.stored])
            for field in _AS_GIVEN
        }
        connection.execute(
            update(Learner)
            .where(stored, or_(*differs))
            .values({**changes, "search_key": staged.c.search_key})
        )
        return
    filled = {
        field.stored: and_(learner[field.stored].is_(None), staged.c[field.stored].is_not(None))
        for field in OPTIONAL_FIELDS
    }
    # The search key holds the External ID: it changes when the External ID is filled in.
    search_key = case(
        (filled[IDENTIFIER_FIELD.stored], staged.c.search_key), else_=learner.search_key
    )
    changes = {name: func.coalesce(learner[name], staged.c[name]) for name in filled}
    connection.execute(
        update(Learner)
        .where(stored, or_(*filled.values()))
        .values({**changes, "search_key": search_key})
    )


def _differs(
    field: LearnerField, stored: ColumnElement[Any], given: ColumnElement[Any]
) -> ColumnElement[bool]:
    """The file's value of `field` is not the stored learner's (an optional field's none is
    no difference: it keeps the stored value)."""
    if field.required:
        return stored != given
    return and_(given.is_not(None), or_(stored.is_(None), stored != given))


def _taken(
    field: LearnerField, stored: ColumnElement[Any], given: ColumnElement[Any]
) -> ColumnElement[Any]:
    """What a stored learner's `field` becomes with `update_learners`: the file's value, or
    the stored one where an optional field gives none."""
    return given if field.required else func.coalesce(given, stored)


def _copy(
    connection: Connection,
    name: str,
    rows: pl.DataFrame,
    progress: CommitProgress,
    phase: wire.CommitPhase,
) -> None:
    """COPY `rows` into the table `name` (its columns named as the frame's), as CSV written
    `batch_rows()` rows at a time (a million invitations are 110 MB), each batch heard by
    `progress` as `phase`."""
    copying = f"COPY {name} ({', '.join(rows.columns)}) FROM STDIN WITH (FORMAT csv)"
    raw = connection.connection.driver_connection
    step = batch_rows()
    with raw.cursor() as cursor, cursor.copy(copying) as copy:  # type: ignore[union-attr]
        for start in range(0, rows.height, step):
            buffer = io.BytesIO()
            rows.slice(start, step).write_csv(buffer, include_header=False)
            copy.write(buffer.getvalue())
            progress.advance(phase, min(start + step, rows.height), rows.height)


def _copied_out(
    connection: Connection, query: str, schema: dict[str, type[pl.DataType]]
) -> pl.DataFrame:
    """The rows of `query` (PostgreSQL), through COPY TO and polars: no Python object each."""
    buffer = io.BytesIO()
    raw = connection.connection.driver_connection
    copying = f"COPY ({query}) TO STDOUT WITH (FORMAT csv)"
    with raw.cursor() as cursor, cursor.copy(copying) as copy:  # type: ignore[union-attr]
        for data in copy:
            buffer.write(data)
    buffer.seek(0)
    return pl.read_csv(
        buffer, has_header=False, new_columns=list(schema), schema=schema, raise_if_empty=False
    )


# The learner fields stored as the file gives them: all but the email, which is stored as
# email-validator normalizes it, with its key.
_AS_GIVEN = tuple(field for field in LEARNER_FIELDS if field is not EMAIL_FIELD)
# The columns of `learners` an import writes from a file's row, in the order they are staged.
_LEARNER_COLUMNS = (
    EMAIL_FIELD.stored,
    "email_key",
    *(field.stored for field in _AS_GIVEN),
    "search_key",
)
_STAGED = Table(
    "roster_ready",
    MetaData(),
    Column("position", Integer),
    Column("learner_id", Integer),
    *(Column(name, Text if name == "search_key" else String) for name in _LEARNER_COLUMNS),
)
# The staging table's columns as each database's CREATE TEMPORARY TABLE gives them.
_STAGED_PG = ", ".join(
    ["position integer", "learner_id integer", *(f"{name} text" for name in _LEARNER_COLUMNS)]
)
_STAGED_SQLITE = ", ".join(
    [
        "position INTEGER PRIMARY KEY",
        "learner_id INTEGER",
        *(f"{name} TEXT" for name in _LEARNER_COLUMNS),
    ]
)


def _ready_rows(rows: pl.DataFrame, checked: Checked, update_learners: bool) -> pl.DataFrame:
    """The ready rows as `_STAGED` holds them, but for the `search_key` (`_staged_rows`),
    which is made from `key_name` and the External ID or else the stored learner's
    (`learner_external_id`): an optional field's empty value is null. A stored learner's
    `search_key` is the one it will have: the file's values with `update_learners`, else its
    own name with an External ID filled in (the statements use it only where they change the
    learner)."""
    ready = checked.ready
    # Only the columns kept as given, gathered: not the file's emails (the normalized ones are
    # stored), a copy of a million of them.
    file = rows.select(field.name for field in _AS_GIVEN)[ready["index"]]
    frame = pl.DataFrame(
        {
            "position": ready["index"],
            "learner_id": ready["learner_id"],
            EMAIL_FIELD.stored: ready["normalized"],
            **{field.stored: file[field.name] for field in _AS_GIVEN},
            "learner_external_id": ready["learner_external_id"],
            "key_name": file[NAME_FIELD.name]
            if update_learners
            else ready["learner_name"].fill_null(file[NAME_FIELD.name]),
        }
    ).with_columns(
        pl.col(EMAIL_FIELD.stored).str.to_lowercase().alias("email_key"),
        *(
            pl.when(pl.col(field.stored) != "").then(pl.col(field.stored)).alias(field.stored)
            for field in OPTIONAL_FIELDS
        ),
    )
    return frame.select(
        "position", "learner_id", *_LEARNER_COLUMNS[:-1], "learner_external_id", "key_name"
    )


def _staged_rows(ready: pl.DataFrame) -> pl.DataFrame:
    """`_ready_rows` (some of them) as `_STAGED` holds them: with their `search_key`. Made a
    batch at a time on SQLite: a million keys at once, with the texts they are made of, were
    the embedded import's peak of memory (140 MB more for a moment)."""
    return ready.select(
        "position",
        "learner_id",
        *_LEARNER_COLUMNS[:-1],
        search_keys(
            ready.select(
                pl.col("key_name"),
                pl.col(EMAIL_FIELD.stored),
                pl.coalesce(IDENTIFIER_FIELD.stored, "learner_external_id"),
            )
        ).alias("search_key"),
    )


def search_keys(values: pl.DataFrame) -> pl.Series:
    """`learner_search_key` of each row of (full name, email, External ID), as polars: lower
    case for ASCII rows, `folded` for the others."""
    joined = values.select(
        pl.concat_str([pl.col(name).fill_null("") for name in values.columns], separator=" ")
    ).to_series()
    keys = joined.str.to_lowercase()
    wide = (joined.str.len_bytes() != joined.str.len_chars()).arg_true()
    if wide.len():
        keys = keys.scatter(wide, folded(joined.gather(wide)))
    return keys


def folded(texts: pl.Series) -> pl.Series:
    """`fold` of each text, with Python's `fold` called once per distinct character rather
    than once per text: a million names with accents took 3.4 s, this a fraction of that.

    Exact because `fold` is a character-by-character map: NFKD decomposes each character on
    its own and then only reorders the combining marks (canonical ordering), which `fold`
    drops all of; `translate` and `casefold` (Python's full case folding, unlike lowercasing
    with its final sigma) take one character at a time. So each character is replaced by its
    own fold, all in one pass (`replace_many`: the replacements are not searched again)."""
    if not texts.len():
        return texts
    # The distinct characters beyond ASCII, found in one string of them all.
    wide = texts.str.replace_all(r"[\x00-\x7F]+", "").str.join("").item()
    characters = {**_ASCII_UPPER, **{char: fold(char) for char in set(wide)}}
    changed = {char: into for char, into in characters.items() if into != char}
    return texts.str.replace_many(list(changed), list(changed.values()))


_ASCII_UPPER = {chr(code): chr(code).lower() for code in range(ord("A"), ord("Z") + 1)}


def _create_staged(connection: Connection, postgres: bool) -> Table:
    """The transaction's temporary table `_STAGED`, empty."""
    if postgres:
        connection.exec_driver_sql(
            f"CREATE TEMPORARY TABLE roster_ready ({_STAGED_PG}) ON COMMIT DROP"
        )
    else:
        # The position is the rowid: the invitations come out of it in the file's order with
        # no sort.
        connection.exec_driver_sql(f"CREATE TEMPORARY TABLE roster_ready ({_STAGED_SQLITE})")
    return _STAGED


def _stage(connection: Connection, ready: pl.DataFrame) -> Table:
    """PostgreSQL: load `ready` into the temporary table `_STAGED`, in one COPY."""
    staged = _create_staged(connection, postgres=True)
    names = ", ".join(_STAGED.columns.keys())
    buffer = io.BytesIO()
    ready.write_csv(buffer, include_header=False)  # null: unquoted empty; "" quoted
    copying = f"COPY roster_ready ({names}) FROM STDIN WITH (FORMAT csv)"
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(copying) as copy:  # type: ignore[union-attr]
        copy.write(buffer.getvalue())
    return staged


def _stage_sqlite(connection: Connection, ready: pl.DataFrame) -> None:
    """SQLite: add `ready` to the temporary table `_STAGED`, in one executemany.

    No None is bound: sqlite3 looks for an adapter for each one, and a million new learners'
    null learner_id took 0.5 s. A column null in every row of the batch (the learner_id of new
    learners, the External ID of a file without one) is left out, to be NULL: binding it as
    below took a million-row import 0.3 s more. In a column with some nulls, a null goes in as
    0 or '' (no id or text Roster stores is either) and NULLIF makes it NULL again."""
    given = ready.select(name for name in ready.columns if ready[name].null_count() < ready.height)
    blanks = {
        name: 0 if dtype.is_integer() else ""
        for name, dtype in given.schema.items()
        if given[name].null_count()
    }
    values = ", ".join(
        f"nullif(?, {blanks[name]!r})" if name in blanks else "?" for name in given.columns
    )
    filled = given.with_columns(pl.col(name).fill_null(blank) for name, blank in blanks.items())
    raw = cast(sqlite3.Connection, connection.connection.driver_connection)
    # The batch's columns as lists, zipped into rows: 10% faster than `iter_rows`.
    raw.executemany(
        f"INSERT INTO roster_ready ({', '.join(given.columns)}) VALUES ({values})",
        zip(*(column.to_list() for column in filled.get_columns()), strict=True),
    )


def queue_email(session: Session, invitation: Invitation, now: datetime) -> None:
    """Queue a new email for the invitation (a resend): a new outbox row, a new retry window."""
    session.add(
        OutboxMessage(
            invitation_id=invitation.id,
            status="queued",
            attempts=0,
            queued_at=now,
            next_attempt_at=now,
            kind="invitation",
        )
    )
    invitation.email_status = "queued"
    invitation.email_attempts = 0
    invitation.email_error = None
    invitation.email_next_attempt_at = now


def lock_for_invitations(
    session: Session, program_id: int, contract_id: int
) -> tuple[Program, Contract]:
    """The program and the contract, locked until the transaction ends; stale pending
    invitations of the program are marked expired so their learners can be invited again.

    Every path that creates or revives a pending invitation goes through here. On PostgreSQL
    the rows are locked (program first, then contract, so two paths never wait on each other
    in a cycle); on SQLite the caller's `write_session` already holds the only write lock.
    """
    lock = session.get_bind().dialect.name == "postgresql"
    program_query = select(Program).where(Program.id == program_id)
    contract_query = select(Contract).where(Contract.id == contract_id)
    if lock:
        program_query = program_query.with_for_update()
        contract_query = contract_query.with_for_update()
    program = session.scalars(program_query).one()
    contract = session.scalars(contract_query).one()
    session.execute(
        update(Invitation)
        .where(
            Invitation.program_id == program_id,
            Invitation.status == "pending",
            Invitation.expires_at <= utcnow(),
        )
        .values(status="expired")
        .execution_options(synchronize_session=False)
    )
    return program, contract


class InvitationConflict(Exception):
    """A single invitation cannot be changed as asked."""

    def __init__(self, code: str, message: str, seats_left: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.seats_left = seats_left


def resend_invitation(session: Session, invitation: Invitation, today: date) -> None:
    """A new email and a renewed expiry. An expired invitation comes back to life only if its
    contract is still active, has a seat, and the learner has no other pending invitation."""
    now = utcnow()
    if invitation.status in ("accepted", "revoked", "removed"):
        raise InvitationConflict(
            "not_pending",
            f"The invitation is {invitation.status}; only pending or expired invitations can be "
            "sent again.",
        )
    program, contract = lock_for_invitations(session, invitation.program_id, invitation.contract_id)
    session.refresh(invitation)
    if invitation.status == "expired":
        # A pending invitation stays valid when its program or contract is archived; an expired
        # one would be a new invitation.
        if archived := archived_refusal(program, contract):
            raise InvitationConflict("archived", f"{archived} The invitation stays expired.")
        other = session.scalar(
            select(func.count())
            .select_from(Invitation)
            .where(
                Invitation.program_id == invitation.program_id,
                Invitation.learner_id == invitation.learner_id,
                Invitation.id != invitation.id,
                is_pending(now) | (Invitation.status == "accepted"),
            )
        )
        if other:
            raise InvitationConflict(
                "already_invited",
                "The learner already has another pending or accepted invitation to this program.",
            )
        used = seats_used(session, contract.id, now)
        reason = unavailable_reason(
            contract, covered_programs(session, contract.id), used, invitation.program_id, today
        )
        if reason:
            code = "contract_capacity" if reason.startswith("full") else "contract_unavailable"
            raise InvitationConflict(
                code,
                f'The contract "{contract.name}" {reason}; the invitation stays expired.',
                seats_left=None if contract.seats is None else max(contract.seats - used, 0),
            )
        invitation.status = "pending"
    invitation.expires_at = now + invitation_lifetime(session, invitation.organization_id)
    # Renewed: the automatic reminder counts from this email, as from a new invitation's.
    invitation.reminded_at = None
    queue_email(session, invitation, now)


def revoke_invitation(session: Session, invitation: Invitation) -> None:
    """Revoke a pending invitation: its seat is free, and its queued email is not sent."""
    if invitation.status != "pending" or invitation.expires_at <= utcnow():
        return
    invitation.status = "revoked"
    if invitation.email_status in ("queued", "retrying"):
        reason = "Not sent: the invitation was revoked."
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.invitation_id == invitation.id, OutboxMessage.status == "queued")
            .values(status="failed", last_error=reason)
        )
        invitation.email_status = "failed"
        invitation.email_error = reason
        invitation.email_next_attempt_at = None


_ISSUES = TypeAdapter(list[Issue])


def commit_issues(record: Import) -> list[Issue]:
    return _ISSUES.validate_python(record.issues)


def resend_many(
    session: Session, selected: Select[int], now: datetime, lifetime: timedelta
) -> tuple[int, int]:
    """Resend every live pending invitation in `selected` (a query of invitation ids): a new
    email each, and the expiry renewed for `lifetime` (the organization's policy). Returns
    (matched, changed); expired, accepted and revoked ones are left as they are (an expired
    one is revived one at a time, with its seat).
    """
    matched, ids = _email_again(
        session,
        selected,
        now,
        "invitation",
        # Renewed: the automatic reminder counts from this email, as from a new invitation's.
        {"expires_at": now + lifetime, "reminded_at": None},
    )
    return matched, len(ids)


def remind_many(session: Session, selected: Select[int], now: datetime) -> tuple[int, list[int]]:
    """Remind every live pending invitation in `selected`: the same invitation emailed again
    as a reminder (it says so), the expiry as it is, and `reminded_at` set, so the automatic
    reminder does not send another. Returns (matched, the ids reminded)."""
    return _email_again(session, selected, now, "reminder", {"reminded_at": now})


def _email_again(
    session: Session,
    selected: Select[int],
    now: datetime,
    kind: OutboxKind,
    changes: dict[str, Any],
) -> tuple[int, list[int]]:
    """A new email of `kind` for every live pending invitation in `selected`, with `changes`
    to each; (matched, the ids emailed)."""
    live = select(Invitation.id).where(Invitation.id.in_(selected), is_pending(now))
    matched = session.scalar(select(func.count()).where(Invitation.id.in_(selected))) or 0
    ids = list(session.scalars(live))
    for start in range(0, len(ids), 5_000):
        batch = ids[start : start + 5_000]
        session.execute(
            update(Invitation)
            .where(Invitation.id.in_(batch))
            .values(
                email_status="queued",
                email_attempts=0,
                email_error=None,
                email_next_attempt_at=now,
                **changes,
            )
            .execution_options(synchronize_session=False)
        )
        session.execute(
            insert(table(OutboxMessage)),
            [
                {
                    "invitation_id": id_,
                    "status": "queued",
                    "attempts": 0,
                    "queued_at": now,
                    "next_attempt_at": now,
                    "kind": kind,
                }
                for id_ in batch
            ],
        )
    return matched, ids


def revoke_many(session: Session, selected: Select[int], now: datetime) -> tuple[int, int]:
    """Revoke every live pending invitation in `selected`: their seats are free, and their
    queued emails are not sent. Returns (matched, changed)."""
    matched = session.scalar(select(func.count()).where(Invitation.id.in_(selected))) or 0
    ids = list(
        session.scalars(select(Invitation.id).where(Invitation.id.in_(selected), is_pending(now)))
    )
    reason = "Not sent: the invitation was revoked."
    for start in range(0, len(ids), 5_000):
        batch = ids[start : start + 5_000]
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.invitation_id.in_(batch), OutboxMessage.status == "queued")
            .values(status="failed", last_error=reason)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Invitation)
            .where(Invitation.id.in_(batch), Invitation.email_status.in_(("queued", "retrying")))
            .values(email_status="failed", email_error=reason, email_next_attempt_at=None)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Invitation)
            .where(Invitation.id.in_(batch))
            .values(status="revoked")
            .execution_options(synchronize_session=False)
        )
    return matched, len(ids)
