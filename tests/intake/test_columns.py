"""Headers as HR writes them: the field table's aliases, and the columns an admin chooses."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from tests.intake.conftest import WriteFile, read
from tui.intake import read_learner_file
from tui.intake.columns import ColumnChoiceError, parse_column_options
from tui.intake.export import errors_file_for, export_issues, preview_frame
from tui.intake.fields import LEARNER_FIELDS
from tui.intake.table import header_key

HR_HEADER = ["Name", "Work Email", "Employee ID"]
HR_COLUMNS = {"Full Name": "Name", "Email": "Work Email", "External ID": "Employee ID"}


def learners(path: Path, columns: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    frame = read_learner_file(path, columns=columns).learners
    return list(zip(frame["full_name"], frame["email"], frame["external_id"], strict=True))


def test_no_alias_belongs_to_two_fields_or_is_a_header() -> None:
    keys = [header_key(name) for field in LEARNER_FIELDS for name in (field.header, *field.aliases)]
    assert len(keys) == len(set(keys))
    assert "id" not in keys  # a bare ID is too often a record number to be taken unasked


def test_hr_headers_read_through_the_fast_and_the_reference_csv_reader(
    write_file: WriteFile,
) -> None:
    fast = write_file([",".join(HR_HEADER), "Ann Lee,ann@example.com,E-1"], name="fast.csv")
    # The stray quote sends the file to Python's csv module.
    ragged = write_file([";".join(HR_HEADER), 'Ann "Nan";ann@example.com;E-1'], name="ragged.csv")
    assert learners(fast) == [("Ann Lee", "ann@example.com", "E-1")]
    assert learners(ragged) == [('Ann "Nan"', "ann@example.com", "E-1")]
    for path in (fast, ragged):
        report = read(path).report
        assert (report.columns, report.file_warnings) == (HR_COLUMNS, [])


def test_hr_headers_read_from_a_workbook(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["EMAIL ADDRESS", "Employee_No", "full-name"])
    sheet.append(["ann@example.com", 100234, "Ann Lee"])
    path = tmp_path / "hr.xlsx"
    workbook.save(path)
    assert learners(path) == [("Ann Lee", "ann@example.com", "100234")]
    assert read(path).report.columns == {
        "Full Name": "full-name",
        "Email": "EMAIL ADDRESS",
        "External ID": "Employee_No",
    }


def test_the_templates_headers_report_no_columns(write_file: WriteFile) -> None:
    report = read(write_file(["full name,E-mail,External ID", "Ann,ann@example.com,"])).report
    assert report.columns == {}
    assert "columns" not in report.model_dump_json()


def test_the_templates_header_wins_over_an_alias(write_file: WriteFile) -> None:
    path = write_file(
        ["Name,Work Email,Email,Employee ID", "Ann Lee,old@example.com,ann@example.com,E-1"]
    )
    assert learners(path) == [("Ann Lee", "ann@example.com", "E-1")]
    [warning] = read(path).report.file_warnings
    assert warning.code == "extra_column"
    assert 'Column "Work Email" (column B)' in warning.message


def test_two_aliases_of_one_field_are_refused_naming_both(write_file: WriteFile) -> None:
    path = write_file(["Name,Email,Display name,Staff ID", "Ann Lee,ann@example.com,Ann,E-1"])
    report = read(path).report
    [error] = report.file_errors
    assert error.code == "duplicate_header"
    assert '"Name" (column A) and "Display name" (column C)' in error.message
    assert "could both be Full Name" in error.message
    assert '--column "Full Name=Name"' in error.message
    assert learners(path, {"Full Name": "Display name"}) == [("Ann", "ann@example.com", "E-1")]


def test_missing_header_suggests_the_columns_to_choose(write_file: WriteFile) -> None:
    path = write_file(["Nom,Courriel,ID", "Ann Lee,ann@example.com,7"])
    [error] = read(path).report.file_errors
    assert error.code == "missing_header"
    assert 'The header row reads: "Nom", "Courriel", "ID"' in error.message
    assert (
        '--column "Full Name=Nom" --column "Email=Courriel" --column "External ID=ID"'
    ) in error.message
    chosen = {"Full Name": "Nom", "Email": "courriel", "External ID": "ID"}
    assert learners(path, chosen) == [("Ann Lee", "ann@example.com", "7")]
    assert read_learner_file(path, columns=chosen).report.columns == {
        "Full Name": "Nom",
        "Email": "Courriel",
        "External ID": "ID",
    }


def test_a_chosen_column_not_in_the_file_lists_the_files_headers(write_file: WriteFile) -> None:
    path = write_file(["Name,Courriel,Employee ID", "Ann Lee,ann@example.com,7"])
    report = read_learner_file(path, columns={"Email": "Mail"}).report
    [error] = report.file_errors
    assert error.code == "column_not_found"
    assert 'no column "Mail"' in error.message
    assert 'reads: "Name", "Courriel", "Employee ID"' in error.message


def test_a_chosen_column_beats_the_templates_header(write_file: WriteFile) -> None:
    path = write_file(
        ["Full Name,Email,Work Email,External ID", "Ann Lee,old@example.com,ann@example.com,"]
    )
    assert learners(path, {"Email": "Work Email"}) == [("Ann Lee", "ann@example.com", "")]
    [warning] = read_learner_file(path, columns={"Email": "Work Email"}).report.file_warnings
    assert 'Column "Email" (column B) is not read' in warning.message


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (["Email"], "is not FIELD=HEADER"),
        (["Mail=Courriel"], 'Roster has no field "Mail"; the fields are Full Name, Email'),
        (["Email=A", "email=B"], 'gives Email twice ("A" and "B")'),
        (["Email=Work", "Full Name=work"], 'the column "work" to both Email and Full Name'),
    ],
)
def test_column_options_that_cannot_be_used(options: list[str], said: str) -> None:
    with pytest.raises(ColumnChoiceError) as refused:
        parse_column_options(options)
    assert said in str(refused.value)


def test_column_options_name_fields_as_the_template_does() -> None:
    assert parse_column_options(["full name=Nom", "EXTERNAL_ID = Matricule "]) == {
        "Full Name": "Nom",
        "External ID": "Matricule",
    }


def test_the_error_file_of_renamed_columns_has_the_templates_headers(
    write_file: WriteFile,
) -> None:
    source = write_file(["Nom,Courriel,ID", "Ann Lee,ann@example,7"])
    chosen = {"Full Name": "Nom", "Email": "Courriel", "External ID": "ID"}
    path = export_issues(
        preview_frame(read_learner_file(source, columns=chosen)), errors_file_for(source)
    )
    assert path.read_bytes().startswith(b"\xef\xbb\xbfFull Name,Email,External ID,Error\r\n")
    again = read(path)  # uploaded again as it is, without naming the columns
    assert (again.report.file_errors, again.report.columns) == ([], {})
    assert learners(path) == [("Ann Lee", "ann@example", "7")]
