"""Each row code of DESIGN §2 on the row, column and message an admin would need to fix it."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email

from tests.intake.conftest import WriteFile, codes_by_row, read
from tui.intake import Issue

HEADER = "Full Name,Email,External ID"


def issues(write_file: WriteFile, *rows: str) -> list[Issue]:
    return read(write_file([HEADER, *rows])).report.issues


def only(found: list[Issue]) -> Issue:
    assert len(found) == 1, found
    return found[0]


def test_missing_full_name(write_file: WriteFile) -> None:
    issue = only(issues(write_file, "Ann Lee,ann@example.com,", '"  ",bob@example.com,'))
    assert (issue.row, issue.column, issue.severity, issue.code) == (
        3,
        "Full Name",
        "error",
        "missing_full_name",
    )
    assert "enter the learner's full name" in issue.message


def test_full_name_too_long(write_file: WriteFile) -> None:
    issue = only(issues(write_file, f"{'A' * 257},ann@example.com,", f"{'B' * 256},b@example.com,"))
    assert (issue.row, issue.code) == (2, "full_name_too_long")
    assert "257 characters" in issue.message
    assert "256 or fewer" in issue.message


def test_invalid_full_name_names_the_control_character(write_file: WriteFile) -> None:
    found = issues(write_file, '"Ann\tLee",ann@example.com,', '"Bob\r\nRay",bob@example.com,')
    assert [(issue.row, issue.code) for issue in found] == [
        (2, "invalid_full_name"),
        (3, "invalid_full_name"),
    ]
    assert "a tab" in found[0].message
    assert "a line break" in found[1].message


def test_missing_email(write_file: WriteFile) -> None:
    issue = only(issues(write_file, "Ann Lee,,A1"))
    assert (issue.row, issue.column, issue.code) == (2, "Email", "missing_email")
    assert "enter the learner's email address" in issue.message


def test_invalid_email_message_is_the_validators_reason(write_file: WriteFile) -> None:
    bad = ["ann.example.com", "ann@@example.com", "ann lee@example.com", "ann@example", "a@b.test"]
    found = issues(write_file, *(f"Learner {i},{email}," for i, email in enumerate(bad)))
    assert [issue.code for issue in found] == ["invalid_email"] * len(bad)
    for issue, email in zip(found, bad, strict=True):
        with pytest.raises(EmailNotValidError) as error:
            validate_email(email, check_deliverability=False)
        assert issue.message == str(error.value)


def test_duplicate_email_ignores_case_and_spacing_and_names_the_first_row(
    write_file: WriteFile,
) -> None:
    found = issues(
        write_file,
        "Ann Lee,Ann.Lee@Example.com,A1",
        "Bob Ray,bob@example.com,B1",
        "Ann L.,  ann.lee@EXAMPLE.COM ,A2",
        "Ann Again,ANN.LEE@example.com,A3",
    )
    assert [(issue.row, issue.code, issue.message) for issue in found] == [
        (4, "duplicate_email", "Same learner as row 2"),
        (5, "duplicate_email", "Same learner as row 2"),
    ]


def test_duplicate_external_id_skips_rows_already_duplicate_emails(write_file: WriteFile) -> None:
    found = issues(
        write_file,
        "Ann Lee,ann@example.com,E-7",
        "Ann Lee,ANN@example.com,E-7",
        "Bob Ray,bob@example.com,E-7",
        "Cy Young,cy@example.com,",
        "Di Hart,di@example.com,",
    )
    assert [(issue.row, issue.code, issue.message) for issue in found] == [
        (3, "duplicate_email", "Same learner as row 2"),
        (4, "duplicate_external_id", "Same External ID as row 2"),
    ]
    assert found[1].column == "External ID"


def test_external_id_too_long(write_file: WriteFile) -> None:
    issue = only(issues(write_file, f"Ann Lee,ann@example.com,{'9' * 300}"))
    assert (issue.column, issue.code) == ("External ID", "external_id_too_long")
    assert "300 characters" in issue.message


def test_formula_like_cells_are_warnings_and_stay_text(write_file: WriteFile) -> None:
    result = read(
        write_file([HEADER, '=HYPERLINK("x"),ann@example.com,@SUM(A1)', "-Bob,bob@example.com,+1"])
    )
    assert codes_by_row(result) == {2: ["formula_like", "formula_like"], 3: ["formula_like"] * 2}
    assert result.learners["full_name"][0] == '=HYPERLINK("x")'
    assert result.report.ready == 2
    assert all(issue.severity == "warning" for issue in result.report.issues)


def test_external_id_in_scientific_notation(write_file: WriteFile) -> None:
    found = issues(write_file, "Ann Lee,ann@example.com,1.23457E+11", "Bob,bob@example.com,12E3")
    issue = only(found)
    assert (issue.row, issue.severity, issue.code) == (2, "warning", "external_id_scientific")
    assert "format the column as Text" in issue.message


def test_invisible_character_inside_a_value_is_named_where_it_is(write_file: WriteFile) -> None:
    found = issues(
        write_file,
        "Ann\u200b Lee,ann@example.com,E1",
        "Bo Chen,bo@example.com,E\u20602",
        "Cy Young,cy@example.com,\u200bE3\u200b",  # at the ends: trimmed, nothing to say
        "\u0645\u0647\u062f\u06cc\u200c\u0632\u0627\u062f\u0647,mz@example.com,",  # Persian
        "Di\u200dHart,di@example.com,",
    )
    assert [(issue.row, issue.column, issue.severity, issue.code) for issue in found] == [
        (2, "Full Name", "warning", "invisible_character"),
        (3, "External ID", "warning", "invisible_character"),
        (6, "Full Name", "warning", "invisible_character"),
    ]
    assert found[0].message.startswith(
        'Full Name has an invisible zero-width space (U+200B) at character 4 of 8, after "Ann".'
    )
    assert "Roster keeps it as it is" in found[0].message
    assert "word joiner (U+2060) at character 2 of 3" in found[1].message
    assert "zero-width joiner (U+200D) at character 3" in found[2].message


def test_email_domain_typo_suggests_the_fix(write_file: WriteFile) -> None:
    found = issues(
        write_file,
        "Ann Lee,ann@gmial.com,",
        "Bob Ray,bob@hotmial.com,",
        "Cy Young,cy@gmail.com,",
        "Di Hart,di@mail.com,",
    )
    assert [(issue.row, issue.code, issue.severity) for issue in found] == [
        (2, "email_domain_typo", "warning"),
        (3, "email_domain_typo", "warning"),
    ]
    assert found[0].message == "gmial.com may be a typo of gmail.com: did you mean ann@gmail.com?"


def test_counts_rows_with_errors_once_and_ready_rows(write_file: WriteFile) -> None:
    result = read(
        write_file(
            [
                HEADER,
                ",not-an-email,",  # two errors, one row
                "Bob Ray,bob@example.com,=1",  # a warning only: still ready
                "",
                "Cy Young,cy@example.com,",
            ]
        )
    )
    report = result.report
    assert (report.rows, report.errors, report.ready, report.skipped) == (3, 1, 2, 0)
    assert report.blank_rows_skipped == 1
    assert report.exit_code == 1
    assert codes_by_row(result)[2] == ["missing_full_name", "invalid_email"]


def test_stored_email_is_the_validators_normalized_form(write_file: WriteFile) -> None:
    learners = read(
        write_file([HEADER, "Ann Lee,Ann.Lee@EXAMPLE.com,", "Info,INFO@Example.COM,"])
    ).learners
    assert learners["email_normalized"].to_list() == ["Ann.Lee@example.com", "info@example.com"]
