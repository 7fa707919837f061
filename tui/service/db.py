"""Storage: the SQLAlchemy 2 models and the engine, on SQLite (default) or PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    text,
)
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    sessionmaker,
)

from tui.service.storage import database_damaged, storage_fault
from tui.wire.models import AdminRole, EmailStatus, ImportState, InvitationStatus

OutboxState = Literal["queued", "sent", "failed"]
OutboxKind = Literal["invitation", "reminder"]


class Clock:
    """Where the service reads the time: the system's, unless `pinned` holds it still."""

    pinned: datetime | None = None


CLOCK = Clock()


def utcnow() -> datetime:
    """Now in UTC, naive: both databases store it the same way. Every date the service stores
    or compares with comes from here (a column's default included), so one pin holds them all."""
    if CLOCK.pinned is not None:
        return CLOCK.pinned
    return datetime.now(UTC).replace(tzinfo=None)


def pin_clock(moment: datetime | None) -> None:
    """Hold the service's clock at `moment` (UTC, naive), or let it run again with None.

    For pictures of the app that must be the same every day: the embedded service runs in the
    app's process, so its invitations' dates, expiry and emails' times follow this pin.
    """
    CLOCK.pinned = moment


def hash_token(token: str) -> str:
    # API tokens are 256 random bits, so a fast hash is as safe as a slow one here.
    return hashlib.sha256(token.encode()).hexdigest()


class Base(DeclarativeBase):
    pass


class Organization(Base):
    __tablename__ = "organizations"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    # The name its invitation emails come from (`roster admin set-sender-name`); None: the
    # mail_from setting's name.
    sender_name: Mapped[str | None] = mapped_column(String(200))
    # The invitation policy (`roster admin set-invitation-policy`): how long an invitation
    # lives, and after how many days a still-pending one is reminded once (None: never).
    invitation_lifetime_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    remind_after_days: Mapped[int | None] = mapped_column(Integer)
    # The audit record's chain head: the newest entry's hash and how many entries there are,
    # so that removing the newest entries is caught too (tui.service.audit).
    audit_head: Mapped[str | None] = mapped_column(String(64))
    audit_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Admin(Base):
    __tablename__ = "admins"
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # owner: everything, admins included; manager: invitations and members, in the programs of
    # `AdminProgram` (all when it has none); viewer: reads only (tui.service.roles).
    role: Mapped[AdminRole] = mapped_column(String(16), default="owner", server_default="owner")
    # A removed admin's row stays, for the audit record; their token opens nothing.
    removed_at: Mapped[datetime | None] = mapped_column(DateTime)
    token_rotated_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AdminProgram(Base):
    """The programs a manager may act in; a manager with none acts in every program."""

    __tablename__ = "admin_programs"
    admin_id: Mapped[int] = mapped_column(ForeignKey("admins.id"), primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), primary_key=True)


class Program(Base):
    __tablename__ = "programs"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # An archived program is offered nowhere and keeps its history; restoring clears it.
    archived_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Contract(Base):
    __tablename__ = "contracts"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    seats: Mapped[int | None] = mapped_column(Integer)  # None: unlimited
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    # An archived contract is offered nowhere and keeps its history; restoring clears it.
    archived_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ContractProgram(Base):
    """Which programs a contract covers."""

    __tablename__ = "contract_programs"
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), primary_key=True)


class Message(Base):
    """An admin's own words for the emails of an import or of one invite: plain text, kept
    once however many invitations carry it."""

    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


def new_message(organization_id: int, text: str | None) -> Message | None:
    """The admin's message to store with an import or an invite; none without words."""
    return Message(organization_id=organization_id, text=text) if text else None


class Learner(Base):
    __tablename__ = "learners"
    __table_args__ = (
        UniqueConstraint("organization_id", "email_key"),
        Index(
            "ix_learners_external_id",
            "organization_id",
            "external_id",
            unique=True,
            sqlite_where=text("external_id IS NOT NULL"),
            postgresql_where=text("external_id IS NOT NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    email: Mapped[str] = mapped_column(String(320))  # email-validator's normalized form
    email_key: Mapped[str] = mapped_column(String(320))  # the normalized form, lowercased
    full_name: Mapped[str] = mapped_column(String(256))
    external_id: Mapped[str | None] = mapped_column(String(256))
    # Name, email and External ID folded (tui.text.learner_search_key): the Users search.
    search_key: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Invitation(Base):
    """An invitation of a learner to a program under a contract.

    On PostgreSQL the database does not enforce these foreign keys, nor `Learner`'s (migration
    0011): an import's organization, program, contract, import and message are read and locked
    by its transaction, its learners added or read by it, and none is ever deleted; a check
    per row cost more than half of a million-row import.
    """

    __tablename__ = "invitations"
    __table_args__ = (
        # One pending invitation per program and learner, whatever the client does.
        Index(
            "ix_invitations_one_pending",
            "program_id",
            "learner_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        # Seats, members and a dry run's statuses are counted from these alone (0009).
        Index("ix_invitations_program_seats", "program_id", "status", "expires_at", "learner_id"),
        # Listings go in id order: a program's invitations stream without a sort (0004).
        Index("ix_invitations_program_id", "program_id", "id"),
        Index("ix_invitations_contract_seats", "contract_id", "status", "expires_at"),
        Index("ix_invitations_learner", "learner_id"),
        # The automatic reminder's scan reads only the pending invitations never reminded (0014).
        Index(
            "ix_invitations_to_remind",
            "organization_id",
            "email_sent_at",
            sqlite_where=text("status = 'pending' AND reminded_at IS NULL"),
            postgresql_where=text("status = 'pending' AND reminded_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"))
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id"))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    # A pending invitation past expires_at is expired: every query says so (see invitations.py);
    # the stored status catches up when a write path needs the learner's slot.
    status: Mapped[InvitationStatus] = mapped_column(String(16), default="pending")
    email_status: Mapped[EmailStatus] = mapped_column(String(16), default="created")
    # What finds the learner's link; the link itself is not stored (tui.service.links).
    token_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The latest email's delivery, kept by the outbox sender so lists need no join.
    email_attempts: Mapped[int] = mapped_column(Integer, default=0)
    email_error: Mapped[str | None] = mapped_column(Text)
    email_next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    email_sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    # A member removed (status "removed"): when and why; the seat is free from that moment.
    removed_at: Mapped[datetime | None] = mapped_column(DateTime)
    removed_reason: Mapped[str | None] = mapped_column(Text)
    # When a reminder was last queued (by hand or by the policy's automatic reminder).
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime)


class Import(Base):
    __tablename__ = "imports"
    __table_args__ = (UniqueConstraint("organization_id", "idempotency_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    admin_id: Mapped[int] = mapped_column(ForeignKey("admins.id"))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"))
    send_emails: Mapped[bool] = mapped_column(Boolean)
    file_name: Mapped[str] = mapped_column(String(500), default="")
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    message: Mapped[Message | None] = relationship(lazy="joined")
    # Stored learners take the file's Full Name and External ID where they differ.
    update_learners: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    status: Mapped[ImportState] = mapped_column(String(16), default="open")
    rows: Mapped[int] = mapped_column(Integer, default=0)
    invited: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # code -> count
    errors: Mapped[int] = mapped_column(Integer, default=0)
    # The invited rows with a warning, and the rows the admin left out (tui.intake.counts).
    warnings: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rows_left_out: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    issues: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # the commit's issues
    # The file's rows this import did not invite, with why (wire.LeftOutRows, column by column),
    # as the client kept them after the commit: the admin can save them again.
    left_out: Mapped[dict[str, list[Any]] | None] = mapped_column(JSON)
    # The file's row numbers of the rows invited, as [first, last] runs, in the invitations' id
    # order (tui.service.import_results); None for imports committed before it was kept.
    invited_rows: Mapped[list[list[int]] | None] = mapped_column(JSON)
    # "sync": the commit makes the program's learners match the file (tui.service.sync).
    mode: Mapped[str] = mapped_column(String(8), default="import", server_default="import")
    remove_missing: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    max_removals: Mapped[int | None] = mapped_column(Integer)
    # A sync: pending invitations whose learner's email it changed are emailed again.
    email_updated: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # What a committed sync did: invited, updated, removed, revoked, unchanged, errors.
    sync_counts: Mapped[dict[str, int] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    committed_at: Mapped[datetime | None] = mapped_column(DateTime)


class ImportChunk(Base):
    __tablename__ = "import_chunks"
    import_id: Mapped[int] = mapped_column(ForeignKey("imports.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    rows: Mapped[bytes] = mapped_column(LargeBinary)  # CSV, no header (tui.service.chunks)
    # An open import whose last chunk is an hour old lost its client (abandon.ABANDON_AFTER).
    received_at: Mapped[datetime | None] = mapped_column(DateTime, default=utcnow)


class ImportFollowup(Base):
    """A pending invitation an import skipped as already invited while its email was still owed:
    the import reports (and its client waits for) that email too."""

    __tablename__ = "import_followups"
    __table_args__ = (PrimaryKeyConstraint("import_id", "invitation_id"),)
    import_id: Mapped[int] = mapped_column(ForeignKey("imports.id"))
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitations.id"))


class OutboxMessage(Base):
    """An invitation email to deliver; committed with its invitation.

    While a sender holds it, `claimed_by` names that sender and `next_attempt_at` is the end of
    its lease; otherwise `next_attempt_at` is when it is due.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitations.id"), index=True)
    status: Mapped[OutboxState] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    queued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    # "invitation" or "reminder": a reminder's email says it is one.
    kind: Mapped[OutboxKind] = mapped_column(
        String(16), default="invitation", server_default="invitation"
    )
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)


class AuditEntry(Base):
    """One change, as the audit record keeps it: append-only, each entry holding the hash of
    the one before it in its organization (tui.service.audit)."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        UniqueConstraint("organization_id", "seq"),
        Index("ix_audit_entries_at", "organization_id", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, 3... within the organization
    at: Mapped[datetime] = mapped_column(DateTime)
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("admins.id"))
    actor: Mapped[str] = mapped_column(String(320))  # an admin's email, "automatic", "operator"
    action: Mapped[str] = mapped_column(String(40))
    program_id: Mapped[int | None] = mapped_column(Integer)
    contract_id: Mapped[int | None] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    learners: Mapped[list[str] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


# How long a statement waits for another writer's lock before the request answers 503.
LOCK_TIMEOUT_SECONDS = 3.0

# Every SQLite connection's settings (bench/floor.py writes with the same).
SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "synchronous=NORMAL",
    "foreign_keys=ON",
    # 8 MB of page cache per connection (the default is 2 MB). 64 MB made a million-row import
    # no faster once it appended in key order, and cost a million-row check 60 MB:
    # bench/scale.py, 14.8 s and 949 MB for the import, 997 MB for the check.
    "cache_size=-8192",
    # An import's staged rows and large sorts in a temporary file, not in memory: a
    # million-row embedded import peaked at 1,060 MB with them in memory, 875-900 MB with the
    # file, in 16.1-16.9 s against 16.4-18.7 s (within the runs' spread); the Invitations page
    # at a million (bench/invitations.py) read as fast with either. SQLite makes the file in
    # SQLITE_TMPDIR, else /var/tmp, mode 0600, and unlinks it at once: no one else opens it.
    "temp_store=FILE",
)


def make_engine(url: str, lock_timeout: float = LOCK_TIMEOUT_SECONDS) -> Engine:
    """An engine for `url`: SQLite tuned for one writer and many readers, or PostgreSQL.

    On SQLite, Roster issues BEGIN itself (pysqlite's own transaction handling would run the
    reads of a transaction outside it): readers begin deferred and never wait, writers made by
    `write_session` begin IMMEDIATE, taking the write lock before they read what they will
    change. A lock held longer than `lock_timeout` fails the statement (a 503 for the client).
    """
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": lock_timeout},
            # One connection per request thread; waiting for one is waiting for a lock.
            pool_size=8,
            max_overflow=48,
            pool_timeout=lock_timeout,
        )

        @event.listens_for(engine, "connect")
        def _configure(connection, _record):  # type: ignore[no-untyped-def]
            connection.isolation_level = None
            cursor = connection.cursor()
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection):  # type: ignore[no-untyped-def]
            immediate = connection.get_execution_options().get("sqlite_immediate", False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    milliseconds = int(lock_timeout * 1000)
    return create_engine(
        url,
        pool_size=10,
        max_overflow=10,
        pool_timeout=lock_timeout * 2,
        pool_pre_ping=True,
        connect_args={"options": f"-c lock_timeout={milliseconds}", "connect_timeout": 10},
    )


def database_busy(error: BaseException) -> bool:
    """A lock that did not come in time (SQLite busy, PostgreSQL lock_timeout), no free
    connection, or no database: a passing state a client may retry, answered 503. A storage
    fault (a full disk, a read-only file system, an I/O error: `tui.service.storage`) and a
    damaged database (`database_damaged`) are no passing state, though SQLite reports them as
    OperationalErrors too."""
    if isinstance(error, PoolTimeoutError):
        return True
    if isinstance(error, OperationalError):
        return storage_fault(error) is None and database_damaged(error) is None
    return isinstance(error, DBAPIError) and type(error.orig).__name__ in (
        "LockNotAvailable",
        "QueryCanceled",
        "DeadlockDetected",
    )


def write_session(sessions: sessionmaker[Session]) -> Session:
    """A session for a transaction that reads what it then changes (seats, the outbox).

    On SQLite it begins IMMEDIATE, so no other writer can change what it read before it writes;
    on PostgreSQL the transaction locks the rows it depends on (SELECT ... FOR UPDATE).
    """
    engine = sessions.kw["bind"]
    return sessions(bind=engine.execution_options(sqlite_immediate=True))


def open_database(url: str, *, migrate: bool = True) -> sessionmaker[Session]:
    """Sessions on the database at `url`. With `migrate`, its schema is brought to the newest
    first; without, a schema other than the newest is refused (`schema.SchemaMismatch`)."""
    from tui.service import schema

    engine = make_engine(url)
    try:
        if migrate:
            schema.migrate(engine)
        else:
            schema.require_head(engine)
    except BaseException:
        engine.dispose()
        raise
    return sessionmaker(engine, expire_on_commit=False)
