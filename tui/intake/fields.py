"""The learner record: one table of its fields, from which everything that names them derives.

The template, the header check and its messages, the row rules and their titles, the checked
learners' frame, the error file, the client's chunks, the service's reading of them and its
staging and insert of learners, the preview's columns and the Invite Learner form read this
table.

Adding an optional text column, say Department, touches exactly:

1. this table: `LearnerField(name="department", header="Department", kind="text",
   required=False, max_length=..., stored="department")`, after External ID;
2. a migration adding `learners.department` (tui/service/migrations/versions/);
3. tui/service/db.py: the `Learner.department` column the migration adds (a test holds every
   field to a column of `learners` long enough for it);
4. tui/wire/models.py: a `department` field in InviteLearner (`str | None = None`), RowBatch
   (`list[str | None] = Field(default_factory=list)`) and LeftOutRows (`list[str] =
   Field(default_factory=list, max_length=MAX_LEFT_OUT)`), written out for the API's schema
   and for mypy (tests/intake/test_fields.py says which one lacks it); with the default, a
   batch or kept rows without the column read it as empty.

The rest follows: the template's header row, "All 4 headers are required: ... - External ID
and Department even when they are empty", the rules department_too_long, invalid_department
and formula_like, the preview's and the error file's columns, the chunks' CSV columns, and
the stored learners (filled in where a stored learner has none, taken with update_learners).
A text column is not searched (the Users search is name, email and External ID), not listed
with learners and invitations, and not compared with a stored learner's (learner_differs is
the name's and the External ID's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# What a field's values are: the rules each kind gets beyond the length limit.
# - "name": a person's name; control characters inside are an error, formula prefixes a warning.
# - "email": judged by email-validator; the learner's identity (one learner per address).
# - "identifier": an organization's own id; unique per organization, control characters an
#   error, formula prefixes and Excel's scientific notation warnings.
# - "text": free text; control characters an error, formula prefixes a warning.
FieldKind = Literal["name", "email", "identifier", "text"]


@dataclass(frozen=True)
class LearnerField:
    """One column of the learner record."""

    # The name in code, on the wire (JSON keys, chunk CSV columns) and in the preview's frame.
    name: str
    # The template's header, as admins see it everywhere (messages, preview, form labels).
    header: str
    kind: FieldKind
    # A value is required (its empty cell is an error); every header is required either way.
    required: bool
    # The most characters a value may have.
    max_length: int
    # The column of the service's `learners` table the value is stored in.
    stored: str
    # Other headers HR files use for the same field, matched like the header: case, spacing and
    # punctuation ignored (so "E-mail" and "full_name" are the headers themselves). A file's
    # header cell that is the template's header wins over one that is an alias.
    aliases: tuple[str, ...] = ()
    # A sample value, for the Invite Learner form's placeholder.
    example: str = ""
    # How wide the preview shows it, in cells.
    width: int = 16
    # What a value is, after "the learner's" (an empty required cell's message); the header in
    # lower case when not given.
    noun: str = ""

    @property
    def label(self) -> str:
        """The header as a form labels it: optional fields say so."""
        return self.header if self.required else f"{self.header} (optional)"

    @property
    def value_noun(self) -> str:
        """'full name', 'email address': what the learner's value is called in a sentence."""
        return self.noun or self.header.lower()

    @property
    def judged_as_text(self) -> bool:
        """Its cells get the text rules (length limit, control characters, formula prefixes):
        every kind but the email, which email-validator judges whole."""
        return self.kind != "email"


LEARNER_FIELDS: tuple[LearnerField, ...] = (
    LearnerField(
        name="full_name",
        header="Full Name",
        kind="name",
        required=True,
        max_length=256,
        stored="full_name",
        aliases=(
            "Name",
            "Learner",
            "Learner name",
            "Employee name",
            "Display name",
            "Participant",
        ),
        example="Ann Lee",
        width=24,
    ),
    LearnerField(
        name="email",
        header="Email",
        kind="email",
        required=True,
        # RFC 5321's limit on a path; email-validator enforces it with its own message.
        max_length=254,
        stored="email",
        # E-mail address, Work e-mail: the same names once punctuation is ignored.
        aliases=("Email address", "Work email", "Business email", "Mail"),
        example="ann.lee@example.com",
        noun="email address",
        width=32,
    ),
    LearnerField(
        name="external_id",
        header="External ID",
        kind="identifier",
        required=False,
        max_length=256,
        stored="external_id",
        # Not a bare "ID": an export's ID is as often its own record or row number, and the
        # External ID is how Roster tells learners apart; --column "External ID=ID" says so.
        aliases=(
            "Employee ID",
            "Employee number",
            "Employee no",
            "Personnel number",
            "Staff ID",
            "Worker ID",
            "HRIS ID",
        ),
        width=14,
    ),
)

FIELD_NAMES: tuple[str, ...] = tuple(field.name for field in LEARNER_FIELDS)
# The template's header row, in its order; every one of them must be in a learner file.
HEADERS: tuple[str, ...] = tuple(field.header for field in LEARNER_FIELDS)
FIELD_BY_NAME: dict[str, LearnerField] = {field.name: field for field in LEARNER_FIELDS}
FIELD_BY_HEADER: dict[str, LearnerField] = {field.header: field for field in LEARNER_FIELDS}
# The fields that are neither the email nor required: stored as given, NULL when empty.
OPTIONAL_FIELDS: tuple[LearnerField, ...] = tuple(f for f in LEARNER_FIELDS if not f.required)


def _only(kind: FieldKind) -> LearnerField:
    (field,) = (field for field in LEARNER_FIELDS if field.kind == kind)
    return field


# The fields whose kind has rules of its own: there is one of each.
NAME_FIELD = _only("name")
EMAIL_FIELD = _only("email")
IDENTIFIER_FIELD = _only("identifier")


def sentence(names: tuple[str, ...] | list[str]) -> str:
    """'A', 'A and B', 'A, B and C': names as a message lists them."""
    *first, last = names
    return f"{', '.join(first)} and {last}" if first else last


def headers_sentence() -> str:
    """'Full Name, Email and External ID': the headers as a message names them."""
    return sentence(HEADERS)


def all_headers_required() -> str:
    """The header check's rule: 'All 3 headers are required: Full Name, Email and External ID -
    External ID even when it is empty.'"""
    rule = f"All {len(HEADERS)} headers are required: {headers_sentence()}"
    optional = [field.header for field in OPTIONAL_FIELDS]
    if not optional:
        return rule + "."
    them = "it is" if len(optional) == 1 else "they are"
    return f"{rule} - {sentence(optional)} even when {them} empty."
