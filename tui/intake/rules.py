"""The file's header and the row rules of DESIGN §2, as polars expressions over all rows at once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field

import polars as pl

from tui.intake.columns import (
    ColumnChoices,
    column_letter,
    column_suggestion,
    match_columns,
    renamed,
)
from tui.intake.emails import EmailJudging, library_thread, same_learner_key, suggest_domain
from tui.intake.fields import (
    EMAIL_FIELD,
    HEADERS,
    IDENTIFIER_FIELD,
    LEARNER_FIELDS,
    NAME_FIELD,
    LearnerField,
    all_headers_required,
)
from tui.intake.invisible import INVISIBLE_CLASS, invisible_message
from tui.intake.report import (
    FORMULA_PREFIXES,
    QUOTE_LIMIT,
    Problem,
    control_code,
    missing_code,
    quote,
    too_long_code,
)
from tui.intake.table import ERROR_HEADER, MAX_CELL_CHARS, Table, header_key

# The frame `check_learners` takes: the spreadsheet row, a text column per learner field, and
# the column of a value beyond the header (null for none).
INPUT_SCHEMA: dict[str, pl.DataType] = {
    "row": pl.UInt32(),
    **{field.name: pl.String() for field in LEARNER_FIELDS},
    "overflow": pl.Int32(),
}
_FORMULA = "^[" + "".join(re.escape(prefix) for prefix in FORMULA_PREFIXES) + "]"
ISSUE_SCHEMA = {
    "row": pl.UInt32,
    "column": pl.String,
    "severity": pl.String,
    "code": pl.String,
    "message": pl.String,
}
_COLUMN_ORDER = {name: index for index, name in enumerate(HEADERS)}
_CONTROL = r"[\x00-\x1f\x7f-\x9f\u2028\u2029]"
_LINE_BREAK = r"[\n\r\u2028\u2029\x85]"
_SCIENTIFIC = r"^[+-]?[0-9](?:[.,][0-9]+)?[Ee]\+?[0-9]+$"


def text_of(template: str, *values: pl.Expr | str) -> pl.Expr:
    """`template` with each `{}` replaced by the next of `values` (an expression, or a column's
    name), as text; null where any value is null. What `pl.format` gives, which it is not:
    polars 2.1's format kernel panics ("assertion failed: i < self.len()") in the streaming
    engine when a filter leaves the rows of a frame held in chunks of unequal length, as a
    table read by the reference reader and stripped of its blank rows is. `concat_str` does
    not."""
    pieces = template.split("{}")
    if len(pieces) != len(values) + 1:
        raise ValueError(f"{template!r} has {len(pieces) - 1} placeholders for {len(values)}")
    parts: list[pl.Expr] = [pl.lit(pieces[0])]
    for value, piece in zip(values, pieces[1:], strict=True):
        parts.append(pl.col(value) if isinstance(value, str) else value)
        parts.append(pl.lit(piece))
    return pl.concat_str(parts, ignore_nulls=False)


@dataclass
class HeaderMap:
    """Which column holds each header (by its name in the template), and what the header row is
    wrong about. `renamed` names each field's column when any is not under its template header
    (an alias or a --column choice)."""

    columns: dict[str, int] = dataclass_field(default_factory=dict)
    errors: list[Problem] = dataclass_field(default_factory=list)
    warnings: list[Problem] = dataclass_field(default_factory=list)
    renamed: dict[str, str] = dataclass_field(default_factory=dict)


def map_header(table: Table, chosen: ColumnChoices | None = None) -> HeaderMap:
    match = match_columns(table.header, table.header_row, chosen or {})
    result = HeaderMap(columns=match.columns, errors=match.errors)
    taken = set(match.columns.values())
    for index, cell in enumerate(table.header):
        where = f"column {column_letter(index)}"
        if index in taken or index in match.doubles:
            continue
        if index in match.passed_over:
            name = match.passed_over[index]
            result.warnings.append(
                Problem(
                    code="extra_column",
                    message=f'Column "{quote(cell)}" ({where}) is not read: --column takes '
                    f'{name} from "{quote(table.header[match.columns[name]])}".'
                    if name in match.columns
                    else f'Column "{quote(cell)}" ({where}) is not read: --column names '
                    f"another column for {name}.",
                )
            )
        elif header_key(cell) == header_key(ERROR_HEADER):
            continue  # Roster's own error file, uploaded again
        elif cell:
            result.warnings.append(
                Problem(
                    code="extra_column",
                    message=f'Column "{quote(cell)}" ({where}) is not part of the template; '
                    "it is ignored.",
                )
            )
        elif (table.cells[f"c{index}"] != "").any():
            result.warnings.append(
                Problem(
                    code="extra_column",
                    message=f"Column {column_letter(index)} has values but no header; "
                    "it is ignored.",
                )
            )
    # A field whose chosen column is not in the file has its own error already.
    missing = [name for name in HEADERS if name not in result.columns and name not in match.chosen]
    if missing:
        found = quote(", ".join(f'"{cell}"' for cell in table.header if cell)) or "nothing"
        suggestion = column_suggestion(missing, result.columns, table.header, table.cells)
        result.errors.append(
            Problem(
                code="missing_header",
                message=f"The header row (row {table.header_row}) has no {_join(missing)} "
                f"column. {all_headers_required()} The header row reads: {found}. "
                f"Start from the template (roster template).{suggestion}",
            )
        )
    if not result.errors:
        result.renamed = renamed(result.columns, table.header)
    return result


def learners_frame(table: Table, columns: dict[str, int]) -> pl.DataFrame:
    """`row`, a column per learner field and `overflow` (INPUT_SCHEMA) for each non-blank
    record."""
    return table.cells.select(
        "row",
        *(pl.col(f"c{columns[field.header]}").alias(field.name) for field in LEARNER_FIELDS),
        "overflow",
    )


# The workbook cells of External ID that held a date (`excel_dates`): `row` and the `text` read.
DATES_SCHEMA = {"row": pl.UInt32, "text": pl.String}


def check_learners(
    learners: pl.DataFrame, width: int, excel_dates: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Apply every row rule. Returns the learners with `email_normalized`, and the issues.

    `excel_dates` (DATES_SCHEMA) are the rows whose External ID a workbook held as a date: each
    still reading as it was read gets `external_id_date`."""
    with library_thread() as library:
        judging = EmailJudging(learners[EMAIL_FIELD.name], library)
        # The cell rules run while the library judges the addresses the fast path left to it.
        issues: list[pl.LazyFrame] = [
            pl.concat(
                [
                    learners.lazy().filter(condition).select(columns)
                    for condition, columns in _cell_rules(width)
                ]
            )
            .collect()
            .lazy()
        ]
        verdicts = judging.result()
    judged = verdicts.judged
    learners = learners.with_columns(
        judged["normalized"].alias("email_normalized"),
        judged["domain"].alias("email_domain"),
        judged["key_hash"].alias("email_key_hash"),
    )
    external_id = pl.col(IDENTIFIER_FIELD.name)
    # The validator's reason lists the characters it refuses: two lines' worth at most.
    refused = verdicts.refused.select(
        learners["row"].gather(verdicts.refused["index"]).alias("row"), "reason"
    )
    _, columns = _issue(
        pl.lit(True),
        EMAIL_FIELD.header,
        "error",
        "invalid_email",
        _quoted(pl.col("reason"), 2 * QUOTE_LIMIT),
    )
    issues.append(refused.lazy().select(columns))
    duplicate_emails = _duplicates(
        learners.lazy(), same_learner_key(pl.col("email_normalized")), pl.col("email_key_hash")
    )
    issues.append(
        duplicate_emails.select(
            "row",
            pl.lit(EMAIL_FIELD.header).alias("column"),
            pl.lit("error").alias("severity"),
            pl.lit("duplicate_email").alias("code"),
            text_of("Same learner as row {}", pl.col("first_row")).alias("message"),
        ).lazy()
    )
    # An External ID is compared among the rows that are not a repeat of an earlier learner.
    repeated = duplicate_emails["row"].implode()
    identified = learners.lazy().filter((external_id != "") & ~pl.col("row").is_in(repeated))
    issues.append(
        _duplicates(identified, external_id, external_id.hash(seed=0))
        .select(
            "row",
            pl.lit(IDENTIFIER_FIELD.header).alias("column"),
            pl.lit("error").alias("severity"),
            pl.lit("duplicate_external_id").alias("code"),
            text_of(f"Same {IDENTIFIER_FIELD.header} as row {{}}", pl.col("first_row")).alias(
                "message"
            ),
        )
        .lazy()
    )
    issues.append(_domain_typos(learners).lazy())
    issues.append(_invisible_characters(learners).lazy())
    if excel_dates is not None and excel_dates.height:
        issues.append(_external_id_dates(learners, excel_dates).lazy())
    frame = pl.concat(issues).collect().cast(ISSUE_SCHEMA)  # type: ignore[arg-type]
    frame = frame.sort(
        "row", pl.col("column").replace_strict(_COLUMN_ORDER, default=len(_COLUMN_ORDER))
    )
    return learners.drop("email_domain", "email_key_hash"), frame


def _cell_rules(width: int) -> list[tuple[pl.Expr, list[pl.Expr]]]:
    """The rules on the cells as they are (the emails' verdicts come from the library): each
    field's errors in the table's order, the row's, then the warnings."""
    errors: list[tuple[pl.Expr, list[pl.Expr]]] = []
    warnings: list[tuple[pl.Expr, list[pl.Expr]]] = []
    for field in LEARNER_FIELDS:
        value = pl.col(field.name)
        if field.required:
            errors.append(
                _issue(
                    value == "",
                    field.header,
                    "error",
                    missing_code(field),
                    pl.lit(f"{field.header} is empty; enter the learner's {field.value_noun}."),
                )
            )
        if not field.judged_as_text:
            continue
        errors.append(
            _issue(
                value.str.len_chars() > field.max_length,
                field.header,
                "error",
                too_long_code(field),
                _too_long(field, value),
            )
        )
        # A line break or NUL in a learner's value is always damage, and no database stores NUL.
        errors.append(
            _issue(
                value.str.contains(_CONTROL),
                field.header,
                "error",
                control_code(field),
                text_of(
                    f"{field.header} contains {{}}; retype it on one line.", _control_kind(value)
                ),
            )
        )
        warnings.append(
            _issue(
                value.str.contains(_FORMULA),
                field.header,
                "warning",
                "formula_like",
                _formula_message(field.header, value),
            )
        )
    external_id = pl.col(IDENTIFIER_FIELD.name)
    overflow = _issue(
        pl.col("overflow").is_not_null(),
        None,
        "error",
        "too_many_fields",
        text_of(
            "The row has a value in column {}, beyond the header's {} columns; "
            "a value that holds the delimiter needs quotes.",
            pl.col("overflow"),
            pl.lit(width),
        ),
    )
    scientific = _issue(
        external_id.str.contains(_SCIENTIFIC),
        IDENTIFIER_FIELD.header,
        "warning",
        "external_id_scientific",
        text_of(
            f"{IDENTIFIER_FIELD.header} {{}} looks like a number Excel turned into scientific "
            "notation; format the column as Text and re-enter the IDs.",
            _quoted(external_id),
        ),
    )
    return [*errors, overflow, *warnings, scientific]


def _issue(
    condition: pl.Expr, column: str | None, severity: str, code: str, message: pl.Expr
) -> tuple[pl.Expr, list[pl.Expr]]:
    return condition, [
        pl.col("row"),
        pl.lit(column, dtype=pl.String).alias("column"),
        pl.lit(severity).alias("severity"),
        pl.lit(code).alias("code"),
        message.alias("message"),
    ]


def _too_long(field: LearnerField, value: pl.Expr) -> pl.Expr:
    length = value.str.len_chars()
    return text_of(
        f"{field.header} has {{}} characters; shorten it to {field.max_length} or fewer.",
        pl.when(length > MAX_CELL_CHARS)
        .then(pl.lit(f"over {MAX_CELL_CHARS:,}"))
        .otherwise(length.cast(pl.String)),
    )


def _control_kind(value: pl.Expr) -> pl.Expr:
    return (
        pl.when(value.str.contains(_LINE_BREAK))
        .then(pl.lit("a line break"))
        .when(value.str.contains("\t", literal=True))
        .then(pl.lit("a tab"))
        .otherwise(pl.lit("a control character"))
    )


def _quoted(value: pl.Expr, limit: int = QUOTE_LIMIT) -> pl.Expr:
    """At most `limit` characters of a cell, for a message (as `report.quote`)."""
    return (
        pl.when(value.str.len_chars() > limit)
        .then(value.str.slice(0, limit - 1) + "…")
        .otherwise(value)
    )


def _formula_message(name: str, value: pl.Expr) -> pl.Expr:
    return text_of(
        f'{name} starts with "{{}}", which a spreadsheet may run as a formula; '
        "Roster keeps it as text.",
        value.str.slice(0, 1),
    )


def _duplicates(rows: pl.LazyFrame, key: pl.Expr, key_hash: pl.Expr) -> pl.DataFrame:
    """The rows whose `key` an earlier row has (`row`, `key`, and `first_row`, the row that had
    it first); a null key is no key. `key_hash` is the key's 64-bit hash, null with it.

    Equal keys have equal hashes: sorting the hashes (a radix sort) finds the few rows whose
    hash is shared, and only those are compared by their keys. Hashing every key into a table
    instead costs several times as much at a million rows, and holds a copy of every key.
    """
    hashes = rows.select(key_hash.alias("hash")).drop_nulls().select(pl.col("hash").sort())
    shared = (
        hashes.filter(
            (pl.col("hash") == pl.col("hash").shift(1))
            | (pl.col("hash") == pl.col("hash").shift(-1))
        )
        .unique()
        .collect()
    )
    candidates = (
        rows.filter(key_hash.is_in(shared["hash"].implode()))
        .select("row", key.alias("key"))
        .filter(pl.col("key").is_not_null())
        .collect()
    )
    firsts = candidates.group_by("key").agg(pl.col("row").min().alias("first_row"))
    return (
        candidates.join(firsts, on="key")
        .filter(pl.col("row") != pl.col("first_row"))
        .select("row", "key", "first_row")
        .sort("row")
    )


def _domain_typos(learners: pl.DataFrame) -> pl.DataFrame:
    domains = learners.lazy().select(pl.col("email_domain").unique().drop_nulls()).collect()
    suggestions = {
        domain: fix for domain in domains["email_domain"] if (fix := suggest_domain(domain))
    }
    local = pl.col("email_normalized").str.extract(r"^(.*)@", 1)
    suggestion = pl.col("email_domain").replace_strict(suggestions, return_dtype=pl.String)
    return (
        learners.lazy()
        .filter(pl.col("email_domain").is_in(list(suggestions)))
        .select(
            "row",
            pl.lit(EMAIL_FIELD.header).alias("column"),
            pl.lit("warning").alias("severity"),
            pl.lit("email_domain_typo").alias("code"),
            text_of(
                "{} may be a typo of {}: did you mean {}@{}?",
                pl.col("email_domain"),
                suggestion,
                local,
                suggestion,
            ).alias("message"),
        )
        .collect()
    )


def _external_id_dates(learners: pl.DataFrame, excel_dates: pl.DataFrame) -> pl.DataFrame:
    """`external_id_date` warnings (ISSUE_SCHEMA) for the External IDs a workbook held as a date
    or a time and that still read as they were read (an edited one is the admin's)."""
    return (
        learners.select("row", IDENTIFIER_FIELD.name)
        .join(excel_dates.cast(DATES_SCHEMA), on="row")  # type: ignore[arg-type]
        .filter(pl.col(IDENTIFIER_FIELD.name) == pl.col("text"))
        .select(
            "row",
            pl.lit(IDENTIFIER_FIELD.header).alias("column"),
            pl.lit("warning").alias("severity"),
            pl.lit("external_id_date").alias("code"),
            text_of(
                f"{IDENTIFIER_FIELD.header} reads {{}} because Excel stored the ID as a date (it "
                "makes 3-1 or 1/3 a date as it is typed). In Excel, format the column as Text, "
                "type the IDs again and save; or edit the row.",
                _quoted(pl.col("text")),
            ).alias("message"),
        )
        .cast(ISSUE_SCHEMA)  # type: ignore[arg-type]
    )


def _invisible_characters(learners: pl.DataFrame) -> pl.DataFrame:
    """`invisible_character` warnings (ISSUE_SCHEMA): a text field's value holding an invisible
    character inside. The few values that hold one at all are judged one by one."""
    frames = [pl.DataFrame(schema=ISSUE_SCHEMA)]
    for field in LEARNER_FIELDS:
        if not field.judged_as_text:
            continue
        flagged = learners.filter(pl.col(field.name).str.contains(INVISIBLE_CLASS))
        messages = [invisible_message(field, value) for value in flagged[field.name]]
        frames.append(
            pl.DataFrame(
                {
                    "row": flagged["row"],
                    "column": [field.header] * flagged.height,
                    "severity": ["warning"] * flagged.height,
                    "code": ["invisible_character"] * flagged.height,
                    "message": messages,
                },
                schema=ISSUE_SCHEMA,
            ).filter(pl.col("message").is_not_null())
        )
    return pl.concat(frames)


def _join(names: list[str]) -> str:
    quoted = [f'"{name}"' for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def check_one_learner(*values: str) -> tuple[pl.DataFrame, list[tuple[str, str, str]]]:
    """The row rules on one learner typed in a form (`values` in the order of LEARNER_FIELDS), as
    on a file's row 1: the checked learner (`check_learners`' learners) and (severity, header of
    the field at fault, message) of each issue, errors first. Rules between rows (duplicates)
    have nothing to compare."""
    cells = dict(zip((field.name for field in LEARNER_FIELDS), values, strict=True))
    learner = pl.DataFrame(
        {"row": [1], **{name: [value] for name, value in cells.items()}, "overflow": [None]},
        schema=INPUT_SCHEMA,
    )
    learners, issues = check_learners(learner, width=len(LEARNER_FIELDS))
    ordered = issues.sort(pl.col("severity") != "error")
    return learners, list(
        zip(
            ordered["severity"].to_list(),
            ordered["column"].to_list(),
            ordered["message"].to_list(),
            strict=True,
        )
    )


def learner_differences(rows: pl.DataFrame) -> pl.DataFrame:
    """`learner_differs` warnings (ISSUE_SCHEMA) for rows whose email is a stored learner with
    another Full Name, or another External ID: never a change made or dropped without a word.

    `rows`: `row`, the file's `full_name` and `external_id` ("" or null for none), and the
    learner's `stored_name` and `stored_external_id`. An External ID the learner lacks is not a
    difference: the import fills it in. The one rule, for the dry run (the client, which has
    the names) and the commit (the service).
    """
    file_id = pl.col("external_id").fill_null("")
    stored_id = pl.col("stored_external_id").fill_null("")
    name_differs = pl.col("full_name") != pl.col("stored_name")
    id_differs = (file_id != "") & (stored_id != "") & (file_id != stored_id)

    def described(name: pl.Expr, external_id: pl.Expr) -> pl.Expr:
        return pl.concat_str(
            pl.lit('"'),
            _quoted(name),
            pl.lit('"'),
            pl.when(external_id != "")
            .then(pl.lit(f", {IDENTIFIER_FIELD.header} ") + _quoted(external_id))
            .otherwise(pl.lit("")),
        )

    return (
        rows.filter(name_differs | id_differs)
        .select(
            pl.col("row").cast(pl.UInt32),
            pl.when(name_differs)
            .then(pl.lit(NAME_FIELD.header))
            .otherwise(pl.lit(IDENTIFIER_FIELD.header))
            .alias("column"),
            pl.lit("warning").alias("severity"),
            pl.lit("learner_differs").alias("code"),
            text_of(
                "This email is a stored learner, {}; the file says {}. The stored values stay "
                "unless you choose to update learners.",
                described(pl.col("stored_name"), stored_id),
                described(pl.col("full_name"), file_id),
            ).alias("message"),
        )
        .cast(ISSUE_SCHEMA)  # type: ignore[arg-type]
    )


def skip_issues(rows: pl.DataFrame, program: str) -> pl.DataFrame:
    """The warnings (ISSUE_SCHEMA) of rows the service skips: `row`, the `email` and the `code`
    (`already_member`, `already_invited`). The one wording, for the dry run (the client: the
    service sends only the row numbers) and the commit's report (the service)."""
    return rows.select(
        pl.col("row").cast(pl.UInt32),
        pl.lit(EMAIL_FIELD.header).alias("column"),
        pl.lit("warning").alias("severity"),
        "code",
        pl.when(pl.col("code") == "already_member")
        .then(
            text_of("{} is already a member of {}; the row is skipped.", "email", pl.lit(program))
        )
        .otherwise(
            text_of("{} already has a pending invitation; skipped, no second invitation.", "email")
        )
        .alias("message"),
    ).cast(ISSUE_SCHEMA)  # type: ignore[arg-type]
