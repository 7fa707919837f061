"""Every file shape of DESIGN §2 reads to the same learners, on the rows a spreadsheet shows."""

from __future__ import annotations

import codecs
import datetime
from pathlib import Path

import openpyxl
import pytest

from tests.intake.conftest import WriteFile, codes_by_row, read
from tui.intake.edits import edit_row


def learners(path: Path) -> list[tuple[int, str, str, str]]:
    frame = read(path).learners
    return list(
        zip(frame["row"], frame["full_name"], frame["email"], frame["external_id"], strict=True)
    )


def test_excel_for_windows_export_with_bom_and_crlf(write_file: WriteFile) -> None:
    path = write_file(
        [
            "Full Name,Email,External ID",
            '"Lee, Ann",ann.lee@example.com,E-001',
            "José Núñez,jose.nunez@example.com,",
        ],
        line_end="\r\n",
        bom=codecs.BOM_UTF8,
    )
    result = read(path)
    assert result.report.encoding == "utf-8-sig"
    assert result.report.delimiter == ","
    assert learners(path) == [
        (2, "Lee, Ann", "ann.lee@example.com", "E-001"),
        (3, "José Núñez", "jose.nunez@example.com", ""),
    ]
    assert result.report.file_warnings == []
    assert (result.report.rows, result.report.ready, result.report.errors) == (2, 2, 0)


def test_european_semicolon_export_in_windows_1252(write_file: WriteFile) -> None:
    path = write_file(
        [
            "Full Name;Email;External ID",
            "Zoë Müller;zoe.muller@example.de;4711",
            "François d'Aubigné;francois@example.fr;4712",
        ],
        encoding="cp1252",
        line_end="\r\n",
    )
    result = read(path)
    assert result.report.encoding == "cp1252"
    assert result.report.delimiter == ";"
    assert learners(path)[0] == (2, "Zoë Müller", "zoe.muller@example.de", "4711")
    assert learners(path)[1][1] == "François d'Aubigné"
    assert [warning.code for warning in result.report.file_warnings] == ["legacy_encoding"]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_excel_unicode_text_is_utf16_with_bom_and_tabs(write_file: WriteFile, codec: str) -> None:
    bom = codecs.BOM_UTF16_LE if codec.endswith("le") else codecs.BOM_UTF16_BE
    path = write_file(
        ["Full Name\tEmail\tExternal ID", "Søren Kierkegaard\tsoren@example.dk\tDK-1"],
        encoding=codec,
        line_end="\r\n",
        bom=bom,
        name="learners.txt",
    )
    result = read(path)
    assert (result.report.encoding, result.report.delimiter) == ("utf-16", "\t")
    assert learners(path) == [(2, "Søren Kierkegaard", "soren@example.dk", "DK-1")]


def test_old_mac_excel_file_with_cr_line_ends(write_file: WriteFile) -> None:
    path = write_file(
        [
            "Full Name,Email,External ID",
            "Ann Lee,ann@example.com,1",
            "",
            "Bob Ray,bob@example.com,2",
        ],
        encoding="cp1252",
        line_end="\r",
    )
    assert learners(path) == [
        (2, "Ann Lee", "ann@example.com", "1"),
        (4, "Bob Ray", "bob@example.com", "2"),
    ]
    assert read(path).report.blank_rows_skipped == 1


def test_pipe_delimited_export(write_file: WriteFile) -> None:
    path = write_file(["full name|EMAIL|external id", "Ann Lee|ann@example.com|A"])
    assert read(path).report.delimiter == "|"
    assert learners(path) == [(2, "Ann Lee", "ann@example.com", "A")]


def test_quoted_cells_hold_delimiters_quotes_and_line_breaks_on_one_row(
    write_file: WriteFile,
) -> None:
    path = write_file(
        [
            "Full Name,Email,External ID",
            '"Ann ""Nan"" Lee",ann@example.com,"A,1"',
            '"Bob\nRay",bob@example.com,B',
            "Cy Young,cy@example.com,C",
        ],
        line_end="\r\n",
    )
    result = read(path)
    assert learners(path) == [
        (2, 'Ann "Nan" Lee', "ann@example.com", "A,1"),
        (3, "Bob\nRay", "bob@example.com", "B"),
        (4, "Cy Young", "cy@example.com", "C"),
    ]
    assert codes_by_row(result) == {3: ["invalid_full_name"]}


def test_rows_are_spreadsheet_rows_with_blank_records_counted_and_skipped(
    write_file: WriteFile,
) -> None:
    path = write_file(
        [
            "",
            ",,",
            "Full Name,Email,External ID",
            "Ann Lee,ann@example.com,",
            "",
            " , \u00a0 ,\u200b",
            "Bob Ray,bob@example.com,",
        ]
    )
    result = read(path)
    assert [row for row, *_ in learners(path)] == [4, 7]
    assert result.report.blank_rows_skipped == 2
    assert result.report.rows == 2


def test_headers_match_in_any_order_case_and_spacing(write_file: WriteFile) -> None:
    path = write_file([" EXTERNAL ID ,email,  full NAME", "X9,ann@example.com,Ann Lee"])
    assert learners(path) == [(2, "Ann Lee", "ann@example.com", "X9")]


def test_cells_are_trimmed_of_whitespace_and_invisible_characters(write_file: WriteFile) -> None:
    path = write_file(
        [
            "Full Name,Email,External ID",
            "\u00a0Ann Lee\u200b ,\ufeff ann@example.com\u2060\t, \u200c\u200dA1\u3000",
        ]
    )
    assert learners(path) == [(2, "Ann Lee", "ann@example.com", "A1")]


def test_short_rows_have_empty_cells_and_excel_trailing_separators_are_ignored(
    write_file: WriteFile,
) -> None:
    path = write_file(
        ["Full Name,Email,External ID,,", "Ann Lee,ann@example.com", "Bob Ray,bob@example.com,B,,"]
    )
    result = read(path)
    assert learners(path) == [
        (2, "Ann Lee", "ann@example.com", ""),
        (3, "Bob Ray", "bob@example.com", "B"),
    ]
    assert result.report.file_warnings == []
    assert result.report.issues == []


def test_extra_columns_are_ignored_with_a_warning(write_file: WriteFile) -> None:
    path = write_file(
        ["Full Name,Department,Email,External ID,", "Ann Lee,Sales,ann@example.com,A,note"]
    )
    result = read(path)
    messages = [warning.message for warning in result.report.file_warnings]
    assert [warning.code for warning in result.report.file_warnings] == ["extra_column"] * 2
    assert 'Column "Department" (column B)' in messages[0]
    assert "Column E has values but no header" in messages[1]
    assert learners(path) == [(2, "Ann Lee", "ann@example.com", "A")]


def test_ragged_rows_and_stray_quotes_read_like_python_csv(write_file: WriteFile) -> None:
    path = write_file(
        [
            "Full Name,Email,External ID",
            'Ann "Nan" Lee,ann@example.com,A',
            "Bob Ray,bob@example.com,B,,",
            "Cy Young,cy@example.com,C,,oops",
        ]
    )
    result = read(path)
    assert learners(path)[0] == (2, 'Ann "Nan" Lee', "ann@example.com", "A")
    assert codes_by_row(result) == {4: ["too_many_fields"]}
    issue = result.report.issues[0]
    assert "column 5" in issue.message
    assert "header's 3 columns" in issue.message


def test_xlsx_first_sheet_with_numbers_and_a_leading_blank_row(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Learners"
    sheet.append([])
    sheet.append(["Full Name", "Email", "External ID"])
    sheet.append(["Ann Lee", "ann@example.com", 100234])
    sheet.append([None, None, None])
    sheet.append(["  Bob Ray ", "BOB@example.com", "B-7"])
    other = workbook.create_sheet("Notes")
    other.append(["not", "read"])
    path = tmp_path / "learners.xlsx"
    workbook.save(path)

    result = read(path)
    assert (result.report.encoding, result.report.delimiter) == (None, None)
    assert learners(path) == [
        (3, "Ann Lee", "ann@example.com", "100234"),
        (5, "Bob Ray", "BOB@example.com", "B-7"),
    ]
    assert result.report.blank_rows_skipped == 1


def test_xlsx_external_id_stored_as_a_date_is_warned_until_edited(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Full Name", "Email", "External ID"])
    sheet.append(["Ann Lee", "ann@example.com", datetime.date(2024, 3, 1)])
    sheet.append(["Bob Ray", "bob@example.com", 45352])
    sheet.append(["Cy Young", "cy@example.com", datetime.datetime(2024, 3, 2, 9, 30)])
    sheet.append([datetime.date(2024, 1, 1), "di@example.com", "2024-03-04"])
    path = tmp_path / "learners.xlsx"
    workbook.save(path)

    result = read(path)
    found = [(issue.row, issue.column, issue.code) for issue in result.report.issues]
    assert found == [(2, "External ID", "external_id_date"), (4, "External ID", "external_id_date")]
    message = result.report.issues[0].message
    assert message.startswith("External ID reads 2024-03-01 because Excel stored the ID as a date")
    assert "format the column as Text" in message
    assert "2024-03-02 09:30:00" in result.report.issues[1].message

    fixed = edit_row(result, 2, {"external_id": "E-0301"})
    assert [(issue.row, issue.code) for issue in fixed.report.issues] == [(4, "external_id_date")]


def test_file_named_xls_that_is_really_text_is_read_as_text(write_file: WriteFile) -> None:
    path = write_file(
        ["Full Name\tEmail\tExternal ID", "Ann Lee\tann@example.com\t"], name="export.xls"
    )
    assert learners(path) == [(2, "Ann Lee", "ann@example.com", "")]


def test_fallback_reader_keeps_line_breaks_inside_quoted_cells(write_file: WriteFile) -> None:
    path = write_file(
        [
            "Full Name,Email,External ID",
            '"Ann\r\nLee",ann@example.com,"A\rB"',
            "Bob Ray,bob@example.com,B,,extra",
        ],
        line_end="\r\n",
    )
    assert learners(path)[0] == (2, "Ann\r\nLee", "ann@example.com", "A\rB")


def test_a_lone_line_break_beyond_the_columns_is_not_a_value(write_file: WriteFile) -> None:
    path = write_file(
        [
            "Full Name,Email,External ID",
            "Ann Lee,ann@example.com,A,\r ,",
            ",,\r,,\r ",
            "B,b@example.com,",
        ]
    )
    result = read(path)
    assert learners(path) == [(2, "Ann Lee", "ann@example.com", "A"), (4, "B", "b@example.com", "")]
    assert result.report.issues == []
    assert result.report.blank_rows_skipped == 1
