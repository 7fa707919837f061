"""Wire models of the /api/v1 JSON API, shared by the service and the httpx client.

The models that carry learner rows (InviteLearner, RowBatch, LeftOutRows) name a field per
column of the learner record (tui.intake.fields.LEARNER_FIELDS), written out: their JSON
schema is the API's contract and mypy checks every use of them, which a model made by
`create_model` would hide. tests/intake/test_fields.py holds them to the table, in its order
and with a required field's type (`str`) or an optional one's (`str | None`). A new optional
column is a field in each of them, with a default (`None`; `Field(default_factory=list)` in
the rows' models), so that clients and code that do not name it yet, and the rows an import
kept before it was added, still validate: an absent column is all empty. Everything else
about those columns (their names in order, the CSV columns, the length checks and their
messages) is derived from the table here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from tui.intake.counts import Counts
from tui.intake.fields import EMAIL_FIELD, FIELD_NAMES, IDENTIFIER_FIELD, sentence
from tui.intake.report import Issue, Problem

T = TypeVar("T")


def _as_utc(value: Any) -> Any:
    # The database stores UTC without an offset; the wire always carries one.
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) and not value.tzinfo else value


UtcDatetime = Annotated[AwareDatetime, BeforeValidator(_as_utc)]
# A spreadsheet row number: the header is row 1, so learners start at 2; 1 is allowed for the
# single invitation. Far beyond any file Roster reads, and within every integer type.
RowNumber = Annotated[int, Field(ge=1, le=2**31 - 1)]
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
# The most rows of a file the service keeps as an import's left-out rows: the file row limit.
MAX_LEFT_OUT = 1_000_000
MAX_MESSAGE = 1000


def _message(value: object) -> object:
    """An admin's message: plain text, blank is none."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


# An admin's own words for the invitation emails (plain text: never markup), none when blank.
Message = Annotated[Annotated[str, Field(max_length=MAX_MESSAGE)] | None, BeforeValidator(_message)]
InvitationStatus = Literal["pending", "accepted", "revoked", "expired", "removed"]
# owner: everything, admins included; manager: invitations and members (in some programs or
# all); viewer: reads only.
AdminRole = Literal["owner", "manager", "viewer"]
EmailStatus = Literal["created", "queued", "retrying", "sent", "failed"]
ImportState = Literal["open", "committed", "rejected", "abandoned"]
# Problem codes of a storage fault under the service's database (tui.service.storage): retrying
# changes nothing until someone frees space, remounts or repairs.
STORAGE_FAULT_CODES = frozenset({"disk_full", "read_only", "file_too_large", "io_error"})
# The problem code of a database that is damaged or lacks part of Roster's schema
# (tui.service.storage.database_damaged): no retry helps; its backup does.
DATABASE_DAMAGED = "database_damaged"
# The database's own problems that no retry mends: damaged, or its schema changed under the
# running service by another Roster (tui.service.errors.damaged_problem).
LASTING_DATABASE_CODES = frozenset({DATABASE_DAMAGED, "schema_too_new", "schema_out_of_date"})


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    offset: int = 0
    limit: int = 50


class Organization(BaseModel):
    id: int
    name: str
    is_demo: bool
    sender_name: str | None = None  # who the invitation emails are from, when set
    invitation_lifetime_days: int = 30
    remind_after_days: int | None = None  # None: no automatic reminder


class InvitationPolicy(BaseModel):
    """An organization's invitation policy (`GET`/`PUT /organization/policy`): how long an
    invitation lives once made or resent, and after how many days a still pending one is
    reminded once (None: never); the reminder comes before the expiry."""

    invitation_lifetime_days: int = Field(30, ge=1, le=365)
    remind_after_days: int | None = Field(None, ge=1, le=364)


class Me(BaseModel):
    admin_email: str
    organization: Organization
    role: AdminRole = "owner"
    # The programs a manager acts in; None: every program.
    programs: list[int] | None = None


class Program(BaseModel):
    id: int
    name: str
    description: str = ""
    learners: int = 0  # accepted invitations
    pending: int = 0  # pending invitations
    archived_at: UtcDatetime | None = None  # archived: offered nowhere, its history kept


class Contract(BaseModel):
    id: int
    name: str
    seats_total: int | None  # None: unlimited
    seats_used: int  # accepted and pending invitations
    seats_left: int | None
    starts_on: date | None
    ends_on: date | None
    available: bool
    unavailable_reason: str | None = None
    program_ids: list[int] = Field(default_factory=list)
    archived_at: UtcDatetime | None = None  # archived: offered nowhere, its history kept


class ContractChange(BaseModel):
    """An owner's change to a contract (`PATCH /contracts/{id}`): only the fields sent change;
    `seats: null` is unlimited, a null date no limit on that side."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=1000)
    seats: int | None = Field(default=None, ge=1, le=2**31 - 1)
    starts_on: date | None = None
    ends_on: date | None = None


class ProgramChange(BaseModel):
    """An owner's change to a program (`PATCH /programs/{id}`): only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=1000)
    description: str | None = Field(default=None, max_length=10_000)


class Usage(BaseModel):
    learners: int
    pending_invitations: int
    accepted_invitations: int
    programs: int
    contracts: list[Contract]


class LearnerProgram(BaseModel):
    program_id: int
    program_name: str
    status: InvitationStatus


class Learner(BaseModel):
    id: int
    email: str
    full_name: str
    external_id: str | None
    created_at: UtcDatetime
    programs: list[LearnerProgram] = Field(default_factory=list)


class Invitation(BaseModel):
    id: int
    program_id: int
    program_name: str
    contract_id: int
    contract_name: str
    learner_id: int
    email: str
    full_name: str
    external_id: str | None
    status: InvitationStatus
    email_status: EmailStatus
    email_attempts: int = 0
    email_error: str | None = None  # the mail server's reply or the failure, when not sent
    email_next_attempt_at: UtcDatetime | None = None
    email_sent_at: UtcDatetime | None = None
    import_id: int | None
    created_at: UtcDatetime
    expires_at: UtcDatetime


class InvitationPage(Page[Invitation]):
    pass


class InvitationSelection(BaseModel):
    """Invitations to act on: these ids, or every invitation the filter matches."""

    ids: list[Id] | None = Field(default=None, max_length=100_000)
    program_id: Id | None = None
    contract_id: Id | None = None
    status: InvitationStatus | None = None
    email_status: EmailStatus | None = None
    import_id: Id | None = None
    q: str = Field(default="", max_length=200, description="names, emails, External IDs")
    pending_for_days: int | None = Field(
        default=None, ge=0, le=3650, description="only invitations sent this many days ago or more"
    )
    # One batch of a large selection at a time, by keyset: act on the `limit` lowest ids above
    # `after_id`, then on those above the batch's `last_id`. A batch acted on may leave the
    # filter (a revoked one is no longer pending) without moving the next batch, as offsets would.
    after_id: Id | None = Field(default=None, description="only invitations with a greater id")
    limit: int | None = Field(
        default=None, ge=1, le=100_000, description="at most this many, the lowest ids first"
    )

    @model_validator(mode="after")
    def _something_chosen(self) -> InvitationSelection:
        filters = (
            self.program_id,
            self.contract_id,
            self.import_id,
            self.status,
            self.email_status,
            self.q,
            self.pending_for_days,
        )
        if self.ids is None and all(value in (None, "") for value in filters):
            raise ValueError("name the invitations: ids, or at least one filter")
        return self


class BulkResult(BaseModel):
    """What a bulk action did: how many invitations it matched and changed, and why the rest
    were left as they were (code -> count)."""

    matched: int
    changed: int
    left: dict[str, int] = Field(default_factory=dict)
    last_id: int | None = Field(
        default=None,
        description="with `limit`: the highest id of the batch, the next batch's `after_id`",
    )


# A member's removal reason: plain text, a line or a few, kept with the invitation and in the
# audit record.
MAX_REASON = 500
MAX_REASON_LINES = 5
# The longest email a removal may name (longer ones are no address: email-validator stops at 254).
MAX_EMAIL_CHARS = 320
# The most emails or learner ids one removal request names (a client sends them in batches).
MAX_MEMBERS_NAMED = 10_000


def _reason(value: object) -> object:
    """A removal's reason: trimmed, lines kept (at most MAX_REASON_LINES), no other control
    character; blank is none."""
    if not isinstance(value, str):
        return value
    lines = [line.strip() for line in value.strip().replace("\r\n", "\n").split("\n")]
    if len(lines) > MAX_REASON_LINES:
        raise ValueError(f"a reason has at most {MAX_REASON_LINES} lines")
    text = "\n".join(lines)
    if any(char != "\n" and (ord(char) < 32 or 127 <= ord(char) < 160) for char in text):
        raise ValueError("a reason is plain text: no tab or other control character")
    return text or None


Reason = Annotated[Annotated[str, Field(max_length=MAX_REASON)] | None, BeforeValidator(_reason)]


class Member(BaseModel):
    """A member of a program: a learner whose invitation to it was accepted."""

    invitation_id: int
    learner_id: int
    email: str
    full_name: str
    external_id: str | None
    contract_id: int
    contract_name: str
    invited_at: UtcDatetime
    accepted_at: UtcDatetime | None


class MemberPage(Page[Member]):
    pass


class MemberSelection(BaseModel):
    """Members of a program to remove: these emails, these learners, or every member the
    search `q` matches (`all_matching`; every member when `q` is empty). Exactly one of the
    three."""

    emails: list[Annotated[str, Field(max_length=MAX_EMAIL_CHARS)]] | None = Field(
        default=None, max_length=MAX_MEMBERS_NAMED
    )
    learner_ids: list[Id] | None = Field(default=None, max_length=MAX_MEMBERS_NAMED)
    all_matching: bool = Field(default=False, description="every member the search q matches")
    q: str = Field(default="", max_length=200, description="names, emails, External IDs")
    reason: Reason = Field(
        default=None,
        description=f"why, kept with each removal: at most {MAX_REASON} characters and "
        f"{MAX_REASON_LINES} lines",
    )
    # With all_matching, one batch at a time by keyset, as InvitationSelection does: the
    # `limit` members of lowest invitation id above `after_id`.
    after_id: Id | None = Field(default=None, description="only members of a greater id")
    limit: int | None = Field(
        default=None, ge=1, le=100_000, description="at most this many, the lowest ids first"
    )

    @model_validator(mode="after")
    def _one_way_chosen(self) -> MemberSelection:
        chosen = [self.emails is not None, self.learner_ids is not None, self.all_matching]
        if sum(chosen) != 1:
            raise ValueError("name the members: emails, learner_ids, or all_matching (with q)")
        return self


NotMemberCode = Literal["invalid_email", "unknown_learner", "pending", "removed", "not_member"]


class NotMember(BaseModel):
    """An email (or learner id) a removal named that is not a member of the program, and why."""

    email: str
    code: NotMemberCode
    message: str


class MemberRemoval(BaseModel):
    """What a removal did: the members it removed, and each one named that was not a member."""

    matched: int = Field(description="the members and names this request considered")
    removed: int
    not_members: list[NotMember] = Field(default_factory=list)
    last_id: int | None = Field(
        default=None,
        description="with all_matching and limit: the batch's highest invitation id, the next "
        "batch's after_id; null when no member was left",
    )


class InviteLearner(BaseModel):
    """Invite one learner (the Invite Learner form)."""

    full_name: str
    email: str
    external_id: str | None = None
    contract_id: Id
    send_email: bool = True
    message: Message = None

    def as_rows(self) -> RowBatch:
        """The learner as a batch of one row, row 1: the service checks and stores it as it
        does a file's rows."""
        return RowBatch.model_validate(
            {"row": [1], **{name: [getattr(self, name)] for name in FIELD_NAMES}}
        )


def _check_columns(model: BaseModel, rows: int, must: str, empty: str | None) -> None:
    """A model of `rows` rows column by column: a column with a default that was not given (an
    optional field newer than the client, or than the kept rows) is all `empty`; every column
    is `rows` long, or "row, ... and ... {must}"."""
    columns = type(model).model_fields
    for name, info in columns.items():
        if name not in model.model_fields_set and not info.is_required():
            setattr(model, name, [empty] * rows)
    if any(len(getattr(model, name)) != rows for name in columns):
        raise ValueError(f"{sentence(list(columns))} {must}")


# The columns of learner rows on the wire: the spreadsheet row, then a column per learner field.
ROW_COLUMNS = ("row", *FIELD_NAMES)


class RowBatch(BaseModel):
    """Learner rows, column by column: cheaper than one object per row at a million rows.

    `row` is the spreadsheet row each learner came from, so the service's issues can name it.
    `email` holds email-validator's normalized form.
    """

    # The columns are ROW_COLUMNS; an optional field's empty value is null.
    row: list[RowNumber]
    full_name: list[str]
    email: list[str]
    external_id: list[str | None]

    @model_validator(mode="after")
    def _same_lengths(self) -> RowBatch:
        _check_columns(self, len(self.row), "must have the same length", None)
        return self

    def __len__(self) -> int:
        return len(self.row)


# The columns of a dry run (CheckRows; as CSV, text/csv with the contract in the query, what
# Roster's client sends, as it is the cheapest form for the service to read): what the service
# checks a row against, the learner's email and External ID. No names, and no other field.
CHECK_CSV_COLUMNS = ("row", EMAIL_FIELD.name, IDENTIFIER_FIELD.name)
# The columns of an import's chunk sent as CSV (text/csv): a RowBatch, a line per row, as
# Roster's client sends it (polars writes and the service reads it with no object per row).
CHUNK_CSV_COLUMNS = ROW_COLUMNS


class CheckRows(BaseModel):
    """What the dry run needs of each row: no names, so a million rows stay a small request."""

    # The columns are CHECK_CSV_COLUMNS.
    row: list[RowNumber]
    email: list[str]
    external_id: list[str | None]

    @model_validator(mode="after")
    def _same_lengths(self) -> CheckRows:
        _check_columns(self, len(self.row), "must have the same length", None)
        return self


class CheckRequest(BaseModel):
    """The dry run as JSON; the service reads it with polars (tui.service.dry_run), this
    model documents it and checks what clients write."""

    contract_id: Id
    rows: CheckRows


class KnownLearners(BaseModel):
    """Ready rows whose email is a stored learner, with the stored values, column by column:
    the dry run sends no names, so the client compares them (`learner_differs`)."""

    row: list[int] = Field(default_factory=list)
    full_name: list[str] = Field(default_factory=list)
    external_id: list[str | None] = Field(default_factory=list)


class SkippedRows(BaseModel):
    """The rows the service skips, by why: their row numbers only (a file checked again
    against its own invitations has a million); the client has their emails to word them."""

    already_member: list[int] = Field(default_factory=list)
    already_invited: list[int] = Field(default_factory=list)


class CheckResult(BaseModel):
    """The service's checks on rows that passed the file checks (DESIGN §2)."""

    file_errors: list[Problem]
    issues: list[Issue] = Field(description="every row issue but the skips (`skipped_rows`)")
    skipped_rows: SkippedRows = Field(default_factory=SkippedRows)
    seats_left: int | None
    ready: int
    skipped: int
    errors: int
    known: KnownLearners = Field(default_factory=KnownLearners)


class ImportCreate(BaseModel):
    program_id: Id
    contract_id: Id
    send_emails: bool
    file_name: str = Field(default="", max_length=500)
    message: Message = None
    update_learners: bool = Field(
        default=False,
        description="stored learners take the file's Full Name and External ID where they differ",
    )
    mode: Literal["import", "sync"] = Field(
        default="import",
        description="sync: the commit makes the program's learners match the file "
        "(GET /imports/{id}/diff previews it)",
    )
    remove_missing: bool = Field(
        default=False,
        description="sync: remove the members and revoke the pending invitations not in the file",
    )
    max_removals: int | None = Field(
        default=None,
        ge=0,
        description="sync: allow this many removals past the service's share "
        "(sync_max_removal_share of the program's learners)",
    )
    email_updated: bool = Field(
        default=False,
        description="sync: email again the pending invitations whose learner's email changed",
    )


# The columns of LeftOutRows: the learner rows' columns, and why each row was left out.
LEFT_OUT_COLUMNS = (*ROW_COLUMNS, "error")


class LeftOutRows(BaseModel):
    """The rows of a file an import did not invite (errors, skipped, left out), column by
    column, with why in `error`: kept by the service so the admin can save them again later."""

    # The columns are LEFT_OUT_COLUMNS; an optional field's empty value is "", as in the file.
    row: list[RowNumber] = Field(max_length=MAX_LEFT_OUT)
    full_name: list[str] = Field(max_length=MAX_LEFT_OUT)
    email: list[str] = Field(max_length=MAX_LEFT_OUT)
    external_id: list[str] = Field(max_length=MAX_LEFT_OUT)
    error: list[str] = Field(max_length=MAX_LEFT_OUT)
    # "left_out" for a row the admin left out; any other value (rows kept before this column
    # was sent read as "") is a row with errors, or one the service skipped.
    outcome: list[str] = Field(default_factory=list, max_length=MAX_LEFT_OUT)

    @model_validator(mode="after")
    def _same_lengths(self) -> LeftOutRows:
        _check_columns(self, len(self.row), "must be as long", "")
        return self

    def __len__(self) -> int:
        return len(self.row)


class ImportCommit(BaseModel):
    rows: int = Field(
        ge=0, le=2**31 - 1, description="How many rows the client sent in all its chunks."
    )
    # The file's rows the client did not send, so that the import counts every row of its file
    # in the words of tui.intake.counts; left-out rows take no seat.
    errors: int = Field(
        default=0, ge=0, le=MAX_LEFT_OUT, description="rows with errors found in the file, not sent"
    )
    left_out: int = Field(
        default=0, ge=0, le=MAX_LEFT_OUT, description="rows the admin left out, not sent"
    )
    warned: list[RowNumber] = Field(
        default_factory=list,
        max_length=MAX_LEFT_OUT,
        description="the sent rows with a warning found in the file",
    )


CommitPhase = Literal["checking", "learners", "invitations", "emails", "saving"]


class CommitProgress(BaseModel):
    """What a commit running on the service that answers is doing: its phase, and the rows
    done of the phase's `total` (0: a step with no count, such as saving)."""

    phase: CommitPhase
    done: int
    total: int


class ImportStatus(BaseModel):
    id: int
    status: ImportState
    program_id: int
    program_name: str = ""
    contract_id: int
    contract_name: str = ""
    admin_email: str = Field(default="", description="the admin who started the import")
    send_emails: bool
    file_name: str
    message: str | None = None
    update_learners: bool = False
    rows: int
    chunks: int
    invited: int
    skipped: dict[str, int]
    errors: int
    # Invited rows with a warning, and rows the admin left out (tui.intake.counts).
    warnings: int = 0
    left_out: int = 0
    emails_queued: int  # emails of this import's invitations, and of those it found still owed
    emails_sent: int
    emails_failed: int
    emails_retrying: int = 0
    email_problem: str | None = Field(
        default=None, description="While emails are being retried: the mail server's last answer."
    )
    next_email_attempt_at: UtcDatetime | None = None
    created_at: UtcDatetime
    committed_at: UtcDatetime | None
    issues: list[Issue] = Field(default_factory=list)
    mode: Literal["import", "sync"] = "import"
    # A committed sync: invited, updated, removed, revoked, unchanged, errors.
    sync: dict[str, int] | None = None
    progress: CommitProgress | None = Field(
        default=None,
        description="While the import commits, from the service process running the commit "
        "(another replica does not know of it): the phase and its counts.",
    )

    @property
    def emails_done(self) -> bool:
        return self.emails_sent + self.emails_failed >= self.emails_queued

    @property
    def counts(self) -> Counts:
        """The import's rows in the words of tui.intake.counts (`ready` is the invited)."""
        return Counts(
            ready=self.invited,
            warnings=self.warnings,
            errors=self.errors,
            skipped=sum(self.skipped.values()),
            left_out=self.left_out,
        )


class ProblemDetail(BaseModel):
    """An application/problem+json body (RFC 9457), with Roster's `code`."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str
    errors: list[Problem] = Field(default_factory=list)
    seats_left: int | None = Field(
        default=None, description="contract_capacity: the seats the contract has left."
    )


class AdminRecord(BaseModel):
    """An admin of the organization, as its owners see them: never a token, nor its hash."""

    id: int
    email: str
    role: AdminRole
    # A manager's programs; None: every program (an owner, a viewer, a manager named for none).
    programs: list[int] | None = None
    created_at: UtcDatetime
    token_rotated_at: UtcDatetime | None = None


class AdminCreate(BaseModel):
    email: Annotated[str, Field(min_length=3, max_length=320)]
    role: AdminRole
    # Only a manager is named for programs; none: every program.
    programs: Annotated[list[Id], Field(max_length=1000)] = Field(default_factory=list)


class AdminChange(BaseModel):
    """A new role, new programs, or both; what is left out stays as it is."""

    role: AdminRole | None = None
    programs: Annotated[list[Id], Field(max_length=1000)] | None = None


class AdminToken(BaseModel):
    """An admin and their new token: answered once, stored by the service only as a hash."""

    admin: AdminRecord
    token: str


class AuditEntry(BaseModel):
    """One entry of the organization's audit record: when, who, what, on which program,
    contract and learners (a bulk change: its count; named up to a thousand), and why."""

    seq: int
    at: UtcDatetime
    actor: str  # an admin's email, "operator (login)" or "automatic"
    action: str
    program_id: int | None = None
    program_name: str | None = None
    contract_id: int | None = None
    contract_name: str | None = None
    count: int = 0
    learners: list[str] | None = None
    reason: str | None = None
    details: dict[str, Any] | None = None


class AuditVerdict(BaseModel):
    """`GET /audit/verify`: the entries checked and, when the record is not whole, the first
    entry changed or removed (`broken_at`, its sequence number) and what was found."""

    whole: bool
    checked: int
    broken_at: int | None = None
    problem: str | None = None


ImportOutcome = Literal["invited", "skipped", "error", "left_out"]
IMPORT_RESULT_COLUMNS = ("row", *FIELD_NAMES, "outcome", "reason")


class ImportResults(BaseModel):
    """An import's results, column by column: one line per row of its file that the service
    or the client's kept left-out rows know, in row order, with its outcome and why. `row` is
    None for the invited rows of an import committed before Roster kept their row numbers."""

    row: list[RowNumber | None]
    full_name: list[str]
    email: list[str]
    external_id: list[str]
    outcome: list[ImportOutcome]
    reason: list[str]

    def __len__(self) -> int:
        return len(self.row)


class SyncLearner(BaseModel):
    """A learner of a sync's diff: a file's row to invite (`row`), or a program's learner not
    in the file (`status` member or pending, `row` none)."""

    row: int | None = None
    full_name: str
    email: str
    external_id: str | None = None
    status: Literal["member", "pending"] | None = None


class SyncUpdate(BaseModel):
    """A program's learner the file names with another Full Name, email or External ID."""

    row: int
    learner_id: int
    full_name: str
    email: str
    external_id: str | None = None
    old_full_name: str
    old_email: str
    old_external_id: str | None = None


class SyncError(BaseModel):
    row: int
    code: str
    message: str


class SyncDiff(BaseModel):
    """What a sync's commit does to the program's learners (GET /imports/{id}/diff): nothing
    is changed to read it. `remove` lists who is not in the file whether or not the sync
    removes them (`remove_missing`); `refusal` says why its commit would be refused."""

    import_id: int
    remove_missing: bool
    learners: int = Field(description="the program's members and pending invitations")
    max_removal_share: float
    invite: list[SyncLearner]
    update: list[SyncUpdate]
    remove: list[SyncLearner]
    unchanged: int
    errors: list[SyncError]
    refusal_code: str | None = None
    refusal: str | None = None
