"""Generated learner files of valid rows mixed with every row problem the intake detects, in
varying proportions and sizes up to thousands of rows: the report names exactly the rows and
codes the generator put in, with counts that agree. The generator knows what each row holds;
hypothesis picks the size, the mix, the layout and the seed, and shrinks a failure to the
smallest file that shows it."""

from __future__ import annotations

import csv
import io
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from tui.intake import read_learner_file

# What a cell can be made to hold; "ok" is a valid, unique value.
NAME_KINDS = ("ok", "missing", "too_long", "control", "formula")
EMAIL_KINDS = ("ok", "missing", "invalid", "duplicate", "typo")
ID_KINDS = ("ok", "empty", "too_long", "control", "duplicate", "scientific", "formula")
ROW_KINDS = ("ok", "blank", "overflow")
INVALID_EMAILS = (
    "not an email",
    "ann@",
    "@example.com",
    "ann@@example.com",
    "ann@example..com",
    "ann lee@example.com",
)
CONTROLS = ("\t", "\x01", "\n", "\r\n", "\x7f", "\u2028")
FORMULA_PREFIXES = ("=", "+", "-", "@")


@dataclass
class Expected:
    """What the report must say about a generated file."""

    records: list[list[str]] = field(default_factory=list)  # after the header
    issues: set[tuple[int, str | None, str]] = field(default_factory=set)  # (row, column, code)
    firsts: dict[tuple[int, str], int] = field(default_factory=dict)  # duplicate -> first row
    rows: int = 0
    blank: int = 0

    def __repr__(self) -> str:  # hypothesis prints it for a failing case
        issues = sorted(self.issues, key=str)
        return f"Expected(rows={self.rows}, blank={self.blank}, issues={issues[:20]}...)"

    @property
    def error_rows(self) -> set[int]:
        return {row for row, _, code in self.issues if code not in WARNINGS}


WARNINGS = {"formula_like", "external_id_scientific", "email_domain_typo"}
NAME, EMAIL, IDENTIFIER = "Full Name", "Email", "External ID"


def weights(draw: st.DrawFn, kinds: tuple[str, ...]) -> list[int]:
    """How often each kind comes: valid ("ok") against each problem, 0 for none at all."""
    return [draw(st.sampled_from([0, 1, 5, 50])) for _ in kinds]


class Rows:
    """Makes the rows of one file from a seeded generator, and keeps what each must get."""

    def __init__(self, rng: random.Random, mix: dict[str, list[int]]) -> None:
        self.rng, self.mix = rng, mix
        self.expected = Expected()
        self.emails: list[tuple[str, bool]] = []  # (valid unique address, at a typo domain)
        self.email_first: dict[str, int] = {}
        self.ids: list[tuple[str, set[str]]] = []  # (unique External ID, its own codes)
        self.id_first: dict[str, int] = {}

    def kind(self, part: str, kinds: tuple[str, ...]) -> str:
        return self.rng.choices(kinds, self.mix[part])[0]

    def add(self, row: int) -> None:
        row_kind = self.kind("row", ROW_KINDS)
        if row_kind == "blank":
            self.expected.records.append(["", " ", ""])
            self.expected.blank += 1
            return
        name, name_codes = self.name(row)
        email, email_codes = self.email(row)
        repeat = "duplicate_email" in email_codes
        external_id, id_codes = self.external_id(row, repeat)
        record = [name, email, external_id]
        issues: set[tuple[int, str | None, str]] = {(row, NAME, code) for code in name_codes}
        issues |= {(row, EMAIL, code) for code in email_codes}
        issues |= {(row, IDENTIFIER, code) for code in id_codes}
        if row_kind == "overflow":
            record += ["", "beyond the header"]
            issues.add((row, None, "too_many_fields"))
        self.expected.records.append(record)
        if not any(record):  # empty by chance: a blank row, skipped
            self.expected.blank += 1
            return
        self.expected.rows += 1
        self.expected.issues |= issues

    def name(self, row: int) -> tuple[str, set[str]]:
        kind = self.kind("name", NAME_KINDS)
        if kind == "missing":
            return "", {"missing_full_name"}
        if kind == "too_long":
            return "N" * self.rng.randint(257, 400), {"full_name_too_long"}
        if kind == "control":
            return f"Learner{self.rng.choice(CONTROLS)}{row}", {"invalid_full_name"}
        if kind == "formula":
            return self.rng.choice(FORMULA_PREFIXES) + f'HYPERLINK("{row}")', {"formula_like"}
        return f"Learner {row}", set()

    def email(self, row: int) -> tuple[str, set[str]]:
        kind = self.kind("email", EMAIL_KINDS)
        if kind == "missing":
            return "", {"missing_email"}
        if kind == "invalid":
            return self.rng.choice(INVALID_EMAILS), {"invalid_email"}
        if kind == "duplicate" and self.emails:
            original, typo = self.rng.choice(self.emails)
            self.expected.firsts[(row, "duplicate_email")] = self.email_first[original.lower()]
            email = self.rng.choice([original, original.upper(), f" {original}"])
            return email, {"duplicate_email"} | ({"email_domain_typo"} if typo else set())
        typo = kind == "typo"
        email = f"learner{row}@{'gmial.com' if typo else 'example.com'}"
        self.emails.append((email, typo))
        self.email_first[email.lower()] = row
        return email, {"email_domain_typo"} if typo else set()

    def external_id(self, row: int, repeat: bool) -> tuple[str, set[str]]:
        """The External ID of a row; `repeat` when its email repeats an earlier learner's."""
        kind = self.kind("id", ID_KINDS)
        made: dict[str, tuple[str, set[str]]] = {
            "ok": (f"E{row}", set()),
            "empty": ("", set()),
            "too_long": (f"{row}" + "I" * self.rng.randint(257, 400), {"external_id_too_long"}),
            "control": (f"E{self.rng.choice(CONTROLS)}{row}", {"invalid_external_id"}),
            "scientific": (f"{self.rng.randint(1, 9)}.{row}E+11", {"external_id_scientific"}),
            "formula": (f"{self.rng.choice(FORMULA_PREFIXES)}E{row}", {"formula_like"}),
        }
        # A copy of a faulty ID has its faults too.
        if kind == "duplicate":
            value, codes = self.rng.choice(self.ids) if self.ids else made["ok"]
        else:
            value, codes = made[kind]
        codes = set(codes)
        # External IDs are compared among the rows that are not a repeat of an earlier learner.
        if value and not repeat:
            if value in self.id_first:
                codes.add("duplicate_external_id")
                self.expected.firsts[(row, "duplicate_external_id")] = self.id_first[value]
            else:
                self.id_first[value] = row
                self.ids.append((value, set(codes)))
        return value, codes


@st.composite
def generated_files(draw: st.DrawFn) -> tuple[Expected, str, str]:
    """(what the report must say, the delimiter, the line end) of a generated file."""
    size = draw(st.sampled_from([3, 30, 300, 1_500, 4_000])) + draw(st.integers(0, 20))
    mix = {
        "name": weights(draw, NAME_KINDS),
        "email": weights(draw, EMAIL_KINDS),
        "id": weights(draw, ID_KINDS),
        "row": weights(draw, ROW_KINDS),
    }
    for part in mix.values():
        part[0] += 20  # valid cells stay the rule unless the mix says otherwise
    rows = Rows(random.Random(draw(st.integers(0, 2**32))), mix)
    for index in range(size):
        rows.add(index + 2)  # the header is row 1
    assume(rows.expected.rows > 0)  # a header alone is the file error no_rows, tested elsewhere
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    return rows.expected, delimiter, draw(st.sampled_from(["\n", "\r\n"]))


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(generated=generated_files())
def test_a_generated_file_gets_exactly_the_issues_put_in_it(
    generated: tuple[Expected, str, str],
) -> None:
    expected, delimiter, line_end = generated
    records = len(expected.records)
    event("size: " + ("1,000 rows or more" if records >= 1_000 else "under 1,000 rows"))
    event(
        "reader: "
        + (
            "reference (a row too wide)"
            if any(len(record) > 3 for record in expected.records)
            else "polars"
        )
    )
    for code in {code for _, _, code in expected.issues}:
        event(code)
    text = io.StringIO(newline="")
    writer = csv.writer(text, delimiter=delimiter, lineterminator=line_end)
    writer.writerows([["Full Name", "Email", "External ID"], *expected.records])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "learners.csv"
        path.write_text(text.getvalue(), encoding="utf-8", newline="")
        result = read_learner_file(path)
    report = result.report

    assert report.file_errors == []
    assert report.file_warnings == []
    found = {(issue.row, issue.column, issue.code) for issue in report.issues}
    assert found == expected.issues
    assert len(report.issues) == len(found)  # each problem once
    for issue in report.issues:
        first = expected.firsts.get((issue.row, issue.code))
        if first is not None:
            assert issue.message.endswith(f"as row {first}"), issue.message
    errors = {issue.row for issue in report.issues if issue.severity == "error"}
    assert errors == expected.error_rows
    assert (report.rows, report.errors, report.ready, report.skipped) == (
        expected.rows,
        len(errors),
        expected.rows - len(errors),
        0,
    )
    assert report.blank_rows_skipped == expected.blank
    assert report.exit_code == (1 if errors else 0)
    assert result.learners.height == expected.rows
    # `roster check --format json` writes the same report.
    assert result.report_json() == report.model_dump_json()
