"""The report on a learner file: the JSON of `roster check --format json` and the app's preview."""

from __future__ import annotations

from typing import Literal, NamedTuple

from pydantic import BaseModel, Field

from tui.intake.fields import LEARNER_FIELDS, FieldKind, LearnerField
from tui.outcome import Exit

Severity = Literal["error", "warning"]
QUOTE_LIMIT = 80  # messages quote at most this many characters of the file

# Cells starting with these are formulas to a spreadsheet: warned (formula_like), and every CSV
# Roster writes puts an apostrophe before them, which reading takes off again.
FORMULA_PREFIXES = ("=", "+", "-", "@")


def quote(text: str, limit: int = QUOTE_LIMIT) -> str:
    """At most `limit` characters of file content, for a message."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Problem(BaseModel):
    """A problem with the file as a whole."""

    code: str
    message: str


class Issue(BaseModel):
    """A problem with one row; `row` is the row number a spreadsheet shows."""

    row: int
    column: str | None
    severity: Severity
    code: str
    message: str


class Report(BaseModel):
    file: str
    encoding: str | None = None
    delimiter: str | None = None
    rows: int = 0
    ready: int = 0
    errors: int = 0
    skipped: int = 0
    # Rows whose email is a stored learner with another Full Name or External ID (warned as
    # learner_differs): for the preview and the import's summary, not in the report's JSON,
    # whose keys are the design's.
    differing: int = Field(default=0, exclude=True)
    # Ready rows with a warning, and rows the admin left out on the preview (tui.intake.counts):
    # for the preview and the import's counts, not in the report's JSON either.
    warnings: int = Field(default=0, exclude=True)
    left_out: int = Field(default=0, exclude=True)
    blank_rows_skipped: int = 0
    # Field header -> the file's header it was read from, when any field's column is not under
    # its template header (an alias, or a column the admin chose); left out of the JSON when
    # empty, so a file with the template's headers reports as it always has.
    columns: dict[str, str] = Field(default_factory=dict, exclude_if=lambda columns: not columns)
    file_errors: list[Problem] = Field(default_factory=list)
    file_warnings: list[Problem] = Field(default_factory=list)
    issues: list[Issue] = Field(default_factory=list)

    @property
    def exit_code(self) -> Exit:
        """The exit code of `roster check`: a file error, row errors, or OK."""
        if self.file_errors:
            return Exit.USAGE
        return Exit.ROW_ERRORS if self.errors else Exit.OK


# The service's verdicts on a row that skip it: the learner needs no new invitation.
SKIP_CODES = ("already_member", "already_invited")


class Rule(NamedTuple):
    """A code's heading for grouped, human output, and the fix when its messages do not say it."""

    title: str
    fix: str | None = None


def missing_code(field: LearnerField) -> str:
    """The code of a required field's empty cell: missing_full_name."""
    return f"missing_{field.name}"


def too_long_code(field: LearnerField) -> str:
    """The code of a cell over the field's length limit: full_name_too_long."""
    return f"{field.name}_too_long"


def control_code(field: LearnerField) -> str:
    """The code of a cell holding a line break or another control character: invalid_full_name."""
    return f"invalid_{field.name}"


# The errors a kind has of its own, listed after the field's empty cell and before its text rules.
_KIND_ERRORS: dict[FieldKind, dict[str, Rule]] = {
    "email": {
        "invalid_email": Rule(title="Email is not valid", fix="Correct each address as described."),
        "duplicate_email": Rule(
            title="Same learner twice",
            fix="Delete the later row, or correct its email if it is another learner.",
        ),
    },
    "identifier": {
        "duplicate_external_id": Rule(
            title="External ID used twice", fix="Give each learner their own External ID."
        ),
    },
}


def _field_rules() -> dict[str, Rule]:
    """Each learner field's errors, in the table's order: the empty cell (a required field), its
    kind's own, then the text rules (too long, control characters)."""
    rules: dict[str, Rule] = {}
    for field in LEARNER_FIELDS:
        if field.required:
            rules[missing_code(field)] = Rule(title=f"{field.header} is empty")
        rules.update(_KIND_ERRORS.get(field.kind, {}))
        if field.judged_as_text:
            rules[too_long_code(field)] = Rule(title=f"{field.header} too long")
            rules[control_code(field)] = Rule(title=f"{field.header} has control characters")
    return rules


# Every code Roster reports, in the order of DESIGN §2, with the heading the table format groups
# its issues under. `fix` is given where the messages themselves do not say how to fix it.
RULES: dict[str, Rule] = {
    "file_not_found": Rule(title="File not found"),
    "unreadable_file": Rule(title="File cannot be read"),
    "internal_error": Rule(title="Roster failed while checking the file"),
    "empty_file": Rule(title="Empty file"),
    "not_text": Rule(title="Not a text file"),
    "unsupported_file": Rule(title="Unsupported file type"),
    "too_large": Rule(title="File too large"),
    "too_many_rows": Rule(title="Too many rows"),
    "missing_header": Rule(title="Missing header"),
    "duplicate_header": Rule(title="Duplicate header"),
    "column_not_found": Rule(title="Chosen column not in the file"),
    "no_rows": Rule(title="No learners"),
    "extra_column": Rule(title="Extra column ignored"),
    "unterminated_quote": Rule(title="Quote never closed"),
    "formula_without_value": Rule(
        title="Formula without a saved value",
        fix="Open the workbook in Excel and save it, or paste the values as values.",
    ),
    "legacy_encoding": Rule(title="Read as Windows-1252"),
    **_field_rules(),
    "too_many_fields": Rule(title="Values outside the columns"),
    "formula_like": Rule(title="Looks like a spreadsheet formula"),
    "invisible_character": Rule(title="Invisible character inside a value"),
    "external_id_scientific": Rule(title="External ID in scientific notation"),
    "external_id_date": Rule(title="External ID stored as a date"),
    "email_domain_typo": Rule(title="Possible typo in the email domain"),
    # Service checks (with a program and contract).
    "already_member": Rule(title="Already a member", fix="Nothing to do: the row is skipped."),
    "already_invited": Rule(
        title="Already invited", fix="Nothing to do: the row is skipped, no second invitation."
    ),
    "external_id_conflict": Rule(
        title="External ID belongs to another learner",
        fix="Correct the External ID or the email so they match the existing learner.",
    ),
    "learner_differs": Rule(
        title="Stored learner has another name or External ID",
        fix="Correct the file, or update the stored learners with the file's values (the "
        "preview's Update learners box, roster import --update-learners).",
    ),
    "contract_capacity": Rule(title="Not enough seats"),
    "contract_unavailable": Rule(title="Contract unavailable"),
    "archived": Rule(title="Program or contract archived"),
}
