"""Which column of a file holds each learner field: the template's header, one of the field's
aliases (the field table's), or the admin's own choice (`--column "Email=Work Email"`).

Headers compare as `header_key` does: case, spacing and punctuation ignored. A field takes, in
this order, the column chosen for it, the column under its template header, the column under
one of its aliases; two columns that could each be the field at the same step are an error
naming both, never a guess. The header is matched once per file, before any row is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import polars as pl

from tui.intake.fields import LEARNER_FIELDS, LearnerField, sentence
from tui.intake.report import Problem, quote
from tui.intake.table import header_key

# The columns an admin chose: a field's template header -> a header of the file.
ColumnChoices = Mapping[str, str]

# A field named in --column: its template header or its name in code, matched as headers are.
_FIELD_BY_KEY: dict[str, LearnerField] = {
    key: column
    for column in LEARNER_FIELDS
    for key in (header_key(column.header), header_key(column.name))
}
_ALIAS_KEYS: dict[str, frozenset[str]] = {
    column.header: frozenset(header_key(alias) for alias in column.aliases)
    for column in LEARNER_FIELDS
}
_FIELDS_NAMED = sentence([column.header for column in LEARNER_FIELDS])
# Rows looked at to suggest which column holds the email addresses.
_SAMPLE_ROWS = 50


class ColumnChoiceError(ValueError):
    """A --column option that cannot be used; the message says why and how to write it."""


def parse_column_options(options: Iterable[str]) -> dict[str, str]:
    """`["Email=Work Email"]` -> `{"Email": "Work Email"}`, keyed by the template's headers.
    Raises ColumnChoiceError for an option that is not FIELD=HEADER, a field Roster does not
    have, a field chosen twice, or one header given to two fields."""
    chosen: dict[str, str] = {}
    for option in options:
        name, equals, header = (part.strip() for part in option.partition("="))
        if not (equals and name and header):
            raise ColumnChoiceError(
                f'--column "{option}" is not FIELD=HEADER: write it as --column '
                f'"Email=Work Email" (the fields are {_FIELDS_NAMED}).'
            )
        learner_field = _FIELD_BY_KEY.get(header_key(name))
        if learner_field is None:
            raise ColumnChoiceError(
                f'--column "{option}": Roster has no field "{name}"; the fields are '
                f"{_FIELDS_NAMED}."
            )
        if learner_field.header in chosen:
            raise ColumnChoiceError(
                f'--column gives {learner_field.header} twice ("{chosen[learner_field.header]}" '
                f'and "{header}"); give each field one column.'
            )
        other = next((f for f, h in chosen.items() if header_key(h) == header_key(header)), None)
        if other is not None:
            raise ColumnChoiceError(
                f'--column gives the column "{header}" to both {other} and '
                f"{learner_field.header}; a column holds one field."
            )
        chosen[learner_field.header] = header
    return chosen


@dataclass
class ColumnMatch:
    """The column of each field found (field header -> 0-based index), the columns a choice
    left unread although they bear a field's header, the second columns of a field found twice
    (an error), and what stops the matching."""

    chosen: ColumnChoices
    columns: dict[str, int] = field(default_factory=dict)
    doubles: set[int] = field(default_factory=set)
    passed_over: dict[int, str] = field(default_factory=dict)
    errors: list[Problem] = field(default_factory=list)


def match_columns(header: list[str], header_row: int, chosen: ColumnChoices) -> ColumnMatch:
    """Which column holds each field, by choice, by template header, then by alias."""
    keys = [header_key(cell) for cell in header]
    match = ColumnMatch(chosen=chosen)
    for field_header, wanted in chosen.items():
        found = [index for index, key in enumerate(keys) if key == header_key(wanted)]
        if found:
            _take(match, field_header, found, header, header_row)
        else:
            match.errors.append(_not_in_file(field_header, wanted, header, header_row))
    for column in LEARNER_FIELDS:
        taken = set(match.columns.values())
        found = [i for i, key in enumerate(keys) if key == header_key(column.header)]
        found = [index for index in found if index not in taken]
        if column.header in chosen:
            match.passed_over.update((index, column.header) for index in found)
        elif found:
            _take(match, column.header, found, header, header_row)
    for column in LEARNER_FIELDS:
        if column.header in match.columns or column.header in chosen:
            continue
        taken = set(match.columns.values()) | set(match.passed_over) | match.doubles
        aliases = _ALIAS_KEYS[column.header]
        found = [i for i, key in enumerate(keys) if key in aliases and i not in taken]
        if found:
            _take(match, column.header, found, header, header_row)
    return match


def _take(
    match: ColumnMatch, field_header: str, found: list[int], header: list[str], header_row: int
) -> None:
    """The first of `found` holds the field; any other is an error naming the first two."""
    match.columns[field_header] = found[0]
    if len(found) == 1:
        return
    match.doubles.update(found[1:])
    first, second = found[:2]
    if all(header_key(header[index]) == header_key(field_header) for index in (first, second)):
        message = (
            f'"{field_header}" is both column {column_letter(first)} and column '
            f"{column_letter(second)} of the header (row {header_row}). Keep one and delete the "
            "other."
        )
    else:
        message = (
            f'Columns "{quote(header[first])}" (column {column_letter(first)}) and '
            f'"{quote(header[second])}" (column {column_letter(second)}) of the header '
            f"(row {header_row}) could both be {field_header}. "
            + (
                "Rename one."
                if field_header in match.chosen
                else "Delete one, or say which with "
                f'--column "{field_header}={quote(header[first])}".'
            )
        )
    match.errors.append(Problem(code="duplicate_header", message=message))


def columns_to_choose(header: list[str], file_errors: list[Problem]) -> dict[str, int] | None:
    """The columns found for the fields (field header -> index), when choosing the others could
    make the file readable: its only file errors are missing headers and some named column
    went to no field. None otherwise."""
    if not header or not file_errors or any(e.code != "missing_header" for e in file_errors):
        return None
    found = match_columns(header, 0, {}).columns
    free = [i for i, cell in enumerate(header) if cell and i not in found.values()]
    return found if free else None


def renamed(columns: Mapping[str, int], header: list[str]) -> dict[str, str]:
    """Field header -> the file's header for each field, when any field's column is not under
    its template header (an alias or a choice); empty when the file uses the template's."""
    named = {
        column.header: header[columns[column.header]]
        for column in LEARNER_FIELDS
        if column.header in columns
    }
    if all(header_key(cell) == header_key(name) for name, cell in named.items()):
        return {}
    return named


def column_suggestion(
    missing: list[str], columns: Mapping[str, int], header: list[str], cells: pl.DataFrame
) -> str:
    """The sentence a missing_header message ends with: the --column options that would name
    the missing fields' columns, guessed from the columns no field took (a column of addresses
    for the Email, an "ID" column for the External ID, the one column left for the one field
    left), with a placeholder where nothing fits; "" when no column is left to name."""
    free = [i for i, cell in enumerate(header) if cell and i not in columns.values()]
    guesses: dict[str, int] = {}
    for name in missing:
        guess = _likely_column(name, [i for i in free if i not in guesses.values()], header, cells)
        if guess is not None:
            guesses[name] = guess
    left = [i for i in free if i not in guesses.values()]
    unguessed = [name for name in missing if name not in guesses]
    if len(unguessed) == 1 and len(left) == 1:
        guesses[unguessed[0]] = left[0]
    if not guesses and not left:
        return ""  # every column is taken: the missing ones are not there under other names
    options = " ".join(
        f'--column "{name}={quote(header[guesses[name]])}"'
        if name in guesses
        else f'--column "{name}=<its header>"'
        for name in missing
    )
    return f" If the file has them under other names, say which column is which: {options}."


def _likely_column(
    name: str, free: list[int], header: list[str], cells: pl.DataFrame
) -> int | None:
    if name == "Email":
        sample = cells.head(_SAMPLE_ROWS)
        for index in free:
            values = [value for value in sample[f"c{index}"].to_list() if value]
            if values and sum("@" in value for value in values) * 2 > len(values):
                return index
    elif name == "External ID":
        return next((i for i in free if header_key(header[i]) in {"id", "externalid"}), None)
    return None


def column_letter(index: int) -> str:
    """Spreadsheet letters of a 0-based column index: 0 -> A, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _not_in_file(field_header: str, wanted: str, header: list[str], header_row: int) -> Problem:
    found = ", ".join(f'"{quote(cell)}"' for cell in header if cell) or "nothing"
    return Problem(
        code="column_not_found",
        message=f'--column "{field_header}={quote(wanted)}": the file has no column "'
        f'{quote(wanted)}". The header row (row {header_row}) reads: {quote(found, 400)}.',
    )
