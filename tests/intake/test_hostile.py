"""Hostile and damaged files: each ends in a report (a file error, or rows), never a traceback,
an abort or a hang. Sizes here prove each guard trips, small enough for CI; bench/hostile.py
measures time and memory at the real limits."""

from __future__ import annotations

import io
import os
import stat
import tempfile
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.intake import hostile_files as hostile
from tui.intake import LearnerFile, Limits, Report, read_learner_file

SMALL = Limits(max_bytes=2_000_000, max_rows=1_000)


def file_error(path: Path, limits: Limits | None = None) -> tuple[str, str]:
    report = read_learner_file(path, limits).report
    assert len(report.file_errors) == 1, report.file_errors
    assert report.exit_code == 2
    assert report.issues == []
    return report.file_errors[0].code, report.file_errors[0].message


# The reader's last resort (tui.intake.safety): an exception or a native panic none of its
# guards foresaw is an internal_error, and running out of memory an unreadable_file worded
# thus. Either is a crash, not a verdict on the file: a fuzzer must not count it as a report.
CRASHED = "Roster could not read this file"
CRASH_CODE = "internal_error"


def assert_reported(result: LearnerFile) -> Report:
    """A report any caller can show: JSON-serializable, no crash behind it, an exit code and
    counts that agree with the rows and issues read."""
    report = result.report
    Report.model_validate_json(report.model_dump_json())
    for problem in [*report.file_errors, *report.file_warnings]:
        assert problem.code != CRASH_CODE, problem.message
        assert not problem.message.startswith(CRASHED), problem.message
        assert len(problem.message) < 600, problem
    assert report.rows == result.learners.height
    if report.file_errors:
        assert (report.exit_code, report.rows, report.issues) == (2, 0, [])
        return report
    rows = set(result.learners["row"])
    assert len(rows) == report.rows  # each row once
    assert {issue.row for issue in report.issues} <= rows
    error_rows = {issue.row for issue in report.issues if issue.severity == "error"}
    assert (report.errors, report.ready) == (len(error_rows), report.rows - len(error_rows))
    assert report.exit_code == (1 if error_rows else 0)
    return report


# --- Not a regular file ------------------------------------------------------------------------


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "learners.csv"
    os.mkfifo(fifo)
    code, message = file_error(fifo)
    assert code == "unreadable_file"
    assert "named pipe" in message


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_devices_are_refused_without_reading(device: str) -> None:
    if not os.path.exists(device) or not stat.S_ISCHR(os.stat(device).st_mode):
        pytest.skip(f"no {device} here")
    code, message = file_error(Path(device))
    assert code == "unreadable_file"
    assert "a device" in message


def test_folder_is_refused(tmp_path: Path) -> None:
    code, message = file_error(tmp_path)
    assert code == "unreadable_file"
    assert "folder" in message


def test_a_file_is_never_read_past_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "learners.csv"
    path.write_bytes(b"Full Name,Email,External ID\n" + b"a,b@example.com,c\n" * 200)
    code, message = file_error(path, Limits(max_bytes=1_000))
    assert code == "too_large"
    assert "limit" in message


# --- Workbooks -----------------------------------------------------------------------------------


def test_one_cell_at_the_last_column_and_row(tmp_path: Path) -> None:
    path = hostile.far_cell_xlsx(tmp_path / "learners.xlsx")
    assert path.stat().st_size < 10_000
    code, message = file_error(path)
    assert code == "too_large"
    assert "column XFD" in message


def test_a_cell_far_below_the_row_limit(tmp_path: Path) -> None:
    code, message = file_error(hostile.far_reference_xlsx(tmp_path / "l.xlsx", b"C5000"), SMALL)
    assert code == "too_many_rows"
    assert "1,000" in message


@pytest.mark.parametrize(
    ("dimension", "expected"), [(b"A1:XFD3", "too_large"), (b"A1:C1048576", "too_many_rows")]
)
def test_declared_dimension_over_the_limits(
    tmp_path: Path, dimension: bytes, expected: str
) -> None:
    path = hostile.declared_dimension_xlsx(tmp_path / "l.xlsx", dimension)
    assert file_error(path, SMALL)[0] == expected


def test_zip_bomb_unpacking_over_the_byte_limit(tmp_path: Path) -> None:
    path = hostile.unpacked_bomb_xlsx(tmp_path / "learners.xlsx", 20_000_000)
    assert path.stat().st_size < 200_000
    code, message = file_error(path, SMALL)
    assert code == "too_large"
    assert "unpacks to" in message


def test_zip_bomb_compressed_beyond_any_sheet(tmp_path: Path) -> None:
    path = hostile.unpacked_bomb_xlsx(tmp_path / "learners.xlsx", 3_000_000)
    code, message = file_error(path, Limits(max_bytes=10_000_000))
    assert code == "too_large"
    assert "zip bomb" in message


def test_rows_without_references_beyond_the_row_limit(tmp_path: Path) -> None:
    code, _ = file_error(hostile.row_bomb_xlsx(tmp_path / "learners.xlsx", 5_000), SMALL)
    assert code == "too_many_rows"


def test_cells_without_references_beyond_the_column_cap(tmp_path: Path) -> None:
    code, message = file_error(hostile.wide_row_xlsx(tmp_path / "learners.xlsx", 500))
    assert code == "too_large"
    assert "500 cells wide" in message


def test_one_shared_string_in_many_cells(tmp_path: Path) -> None:
    path = hostile.shared_string_bomb_xlsx(tmp_path / "learners.xlsx", 100_000, 100)
    code, message = file_error(path, SMALL)
    assert code == "too_large"
    assert "shared text" in message


def test_password_protected_workbook_is_named_so(tmp_path: Path) -> None:
    code, message = file_error(hostile.encrypted_xlsx(tmp_path / "learners.xlsx"))
    assert code == "unsupported_file"
    assert "password-protected" in message
    assert ".xls)" not in message


def test_old_xls_is_still_an_old_xls(tmp_path: Path) -> None:
    code, message = file_error(hostile.old_xls(tmp_path / "learners.xls"))
    assert code == "unsupported_file"
    assert ".xls" in message
    assert "password" not in message


def _template_xlsx() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Full Name", "Email", "External ID"])
    sheet.append(["Ann Lee", "ann@example.com", "A1"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


TEMPLATE_XLSX = _template_xlsx()


def test_damaged_sheet_xml_is_a_damaged_workbook(tmp_path: Path) -> None:
    path = hostile.workbook(tmp_path / "learners.xlsx", [b"<worksheet><sheetData><row><c"])
    code, message = file_error(path)
    assert code == "unreadable_file"
    assert "damaged workbook" in message


def test_truncated_workbook_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "learners.xlsx"
    path.write_bytes(TEMPLATE_XLSX[: len(TEMPLATE_XLSX) // 2])
    code, message = file_error(path)
    assert code in ("unsupported_file", "unreadable_file")
    assert "damaged" in message


# --- Text files --------------------------------------------------------------------------------


def test_stray_cr_before_the_header(tmp_path: Path) -> None:
    report = read_learner_file(hostile.stray_cr_csv(tmp_path / "learners.csv")).report
    assert (report.file_errors, report.rows, report.ready) == ([], 1, 1)


def test_ragged_file_holding_every_private_use_character(tmp_path: Path) -> None:
    result = read_learner_file(hostile.private_use_ragged_csv(tmp_path / "learners.csv"))
    report = assert_reported(result)
    assert report.file_errors == []
    external_id = result.learners["external_id"][0]
    assert external_id.startswith("\ue000") and external_id.endswith("\rx")


def test_thousands_of_trailing_separators(tmp_path: Path) -> None:
    path = hostile.trailing_commas_csv(tmp_path / "learners.csv", 200_000)
    report = read_learner_file(path).report
    assert (report.file_errors, report.rows, report.errors) == ([], 3, 0)


def test_values_far_beyond_the_kept_empty_columns_are_too_many_fields(tmp_path: Path) -> None:
    path = tmp_path / "learners.csv"
    path.write_text(
        "Full Name,Email,External ID" + "," * 100 + "\nAnn,a@example.com,1" + "," * 99 + "x\n"
    )
    report = read_learner_file(path).report
    assert [issue.code for issue in report.issues] == ["too_many_fields"]
    assert "column 102" in report.issues[0].message


def test_a_header_of_too_many_named_columns(tmp_path: Path) -> None:
    code, message = file_error(hostile.long_line_csv(tmp_path / "learners.csv", 100_000))
    assert code == "too_large"
    assert "1,024" in message


def test_a_long_cell_is_one_error_quoted_briefly(tmp_path: Path) -> None:
    report = read_learner_file(hostile.long_cell_csv(tmp_path / "l.csv", 3_000_000)).report
    assert [issue.code for issue in report.issues] == ["external_id_too_long"]
    assert len(report.issues[0].message) < 200


def test_a_long_header_name_is_quoted_briefly(tmp_path: Path) -> None:
    path = hostile.long_cell_csv(tmp_path / "l.csv", 3_000_000, in_header=True)
    report = read_learner_file(path).report
    [warning] = report.file_warnings
    assert warning.code == "extra_column"
    assert len(warning.message) < 200


def test_a_long_scientific_looking_id_is_quoted_briefly(tmp_path: Path) -> None:
    path = tmp_path / "learners.csv"
    path.write_text("Full Name,Email,External ID\nAnn,a@example.com,1E+" + "9" * 250 + "\n")
    messages = [issue.message for issue in read_learner_file(path).report.issues]
    assert messages and all(len(message) < 250 for message in messages)


def test_unterminated_quote_names_the_row_it_opened_on(tmp_path: Path) -> None:
    report = read_learner_file(hostile.unterminated_quote_csv(tmp_path / "l.csv")).report
    [warning] = [w for w in report.file_warnings if w.code == "unterminated_quote"]
    assert "Row 3 " in warning.message
    assert report.rows == 2


def test_closed_multiline_quote_is_not_unterminated(tmp_path: Path) -> None:
    path = tmp_path / "learners.csv"
    path.write_text(
        'Full Name,Email,External ID\nA,a@example.com,x,,y\n"B\nC",b@example.com,"1\n2"\n'
    )
    report = read_learner_file(path).report
    assert [w.code for w in report.file_warnings] == []


# --- Fuzzing -----------------------------------------------------------------------------------

CSV_PIECES = st.sampled_from(
    [
        "Full Name",
        "Email",
        "External ID",
        "ann@example.com",
        "Ann",
        ",",
        ";",
        "\t",
        "|",
        '"',
        "'",
        "\r",
        "\n",
        "\r\n",
        " ",
        "\u00a0",
        "\ufeff",
        "\ue000",
        "\ue001",
        "=",
        "-1",
        "é",
        "1E+11",
        ",,,,,,,,",
        "\x00",
        "\x85",
        "\u2028",
    ]
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.one_of(
        st.binary(max_size=400),
        st.lists(CSV_PIECES, max_size=60).map(lambda pieces: "".join(pieces).encode()),
        # Behind the template's header, so that most files have rows for the row rules.
        st.lists(CSV_PIECES, max_size=60).map(
            lambda pieces: ("Full Name,Email,External ID\r\n" + "".join(pieces)).encode()
        ),
        st.tuples(
            st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"]),
            st.lists(CSV_PIECES, max_size=60).map("".join),
            st.sampled_from(["utf-8", "utf-16-le", "utf-16-be", "cp1252"]),
        ).map(lambda t: t[0] + t[1].encode(t[2], "replace")),
    )
)
def test_fuzzed_text_files_always_get_a_report(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "learners.csv"
        path.write_bytes(data)
        assert_reported(read_learner_file(path))


XML_PIECES = st.sampled_from(
    [
        b"<row>",
        b"</row>",
        b'<row r="2">',
        b'<row r="1048577">',
        b"<c>",
        b"</c>",
        b'<c r="A2">',
        b'<c r="XFD2">',
        b'<c r="B2" t="s">',
        b'<c t="inlineStr">',
        b"<v>",
        b"</v>",
        b"0",
        b"1",
        b"99999",
        b"<is><t>",
        b"</t></is>",
        b"<f>",
        b"</f>",
        b"<c/>",
        b"<sheetData>",
        b"</sheetData>",
        b"&amp;",
        b"&#0;",
        b"\x00",
        b"\xff",
        b"<si><t>",
        b"</t></si>",
        b'<dimension ref="A1:C3"/>',
        b'<dimension ref="A1:XFD1"/>',
        b"<",
    ]
)
MEMBERS = [
    "xl/worksheets/sheet1.xml",
    "xl/sharedStrings.xml",
    "xl/workbook.xml",
    "xl/_rels/workbook.xml.rels",
    "[Content_Types].xml",
    "xl/styles.xml",
]


@st.composite
def fuzzed_workbooks(draw: st.DrawFn) -> bytes:
    """The template workbook with members replaced by fuzz, dropped or the zip cut short."""
    with zipfile.ZipFile(io.BytesIO(TEMPLATE_XLSX)) as source:
        members = {name: source.read(name) for name in source.namelist()}
    for name in draw(st.lists(st.sampled_from(MEMBERS), max_size=3, unique=True)):
        action = draw(st.sampled_from(["replace", "drop", "splice"]))
        if action == "drop":
            members.pop(name, None)
        elif action == "replace":
            members[name] = b"".join(draw(st.lists(XML_PIECES, max_size=40)))
        else:
            original = members.get(name, b"")
            at = draw(st.integers(0, len(original)))
            members[name] = original[:at] + b"".join(draw(st.lists(XML_PIECES, max_size=10)))
            members[name] += original[at + draw(st.integers(0, 20)) :]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in members.items():
            target.writestr(name, content)
    data = buffer.getvalue()
    if draw(st.booleans()):
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + draw(st.binary(max_size=8)) + data[at + draw(st.integers(0, 8)) :]
    return data


@settings(max_examples=200, deadline=None)
@given(data=fuzzed_workbooks())
def test_fuzzed_workbooks_always_get_a_report(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "learners.xlsx"
        path.write_bytes(data)
        assert_reported(read_learner_file(path))


def test_unterminated_quote_holding_megabytes_stops_at_its_row(tmp_path: Path) -> None:
    path = hostile.unterminated_quote_csv(tmp_path / "learners.csv", rows=150_000)
    path.write_text(path.read_text().replace("Ann Lee,ann@example.com,A1\n", "A,a@b.c,x,,y\n"))
    code, message = file_error(path)  # the ragged row sends it to the reference reader
    assert code == "too_large"
    assert "Row 3 " in message
    assert "never closed" in message


# --- Round trip and the traps of spreadsheets ------------------------------------------------


def test_neutralized_cells_read_back_without_the_apostrophe(tmp_path: Path) -> None:
    path = tmp_path / "learners-errors.csv"
    path.write_text(
        "Full Name,Email,External ID,Error\n"
        "'=Ann,ann@example.com,'-X1,bad\n"
        "'@Bob,bob@example.com,'+7,bad\n"
        "O'Brien,ob@example.com,'X2,\n"
    )
    result = read_learner_file(path)
    assert result.learners.select("full_name", "external_id").rows() == [
        ("=Ann", "-X1"),
        ("@Bob", "+7"),
        ("O'Brien", "'X2"),
    ]
    formula_rows = [i.row for i in result.report.issues if i.code == "formula_like"]
    assert formula_rows == [2, 2, 3, 3]


def test_export_then_read_is_symmetric(tmp_path: Path) -> None:
    from tui.intake.export import neutralize  # the export's own rule

    for value in ["=SUM(A1)", "-X1", "+33 1", "@ann", "plain", "'quoted"]:
        path = tmp_path / "learners.csv"
        path.write_text(f"Full Name,Email,External ID\nAnn,ann@example.com,{neutralize(value)}\n")
        assert read_learner_file(path).learners["external_id"].to_list() == [value]


def test_formula_without_a_saved_value_is_named(tmp_path: Path) -> None:
    report = read_learner_file(hostile.formula_without_value_xlsx(tmp_path / "l.xlsx")).report
    [warning] = report.file_warnings
    assert warning.code == "formula_without_value"
    assert "Cell C2 holds a formula" in warning.message


def test_numbers_formatted_with_leading_zeros_read_as_shown(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Full Name", "Email", "External ID"])
    sheet.append(["Ann Lee", "ann@example.com", 1234])
    sheet.append(["Bob Ray", "bob@example.com", 56])
    sheet.append(["Cy Young", "cy@example.com", 78])
    sheet["C2"].number_format = "000000"
    sheet["C3"].number_format = "00000"
    path = tmp_path / "learners.xlsx"
    book.save(path)
    ids = read_learner_file(path).learners["external_id"].to_list()
    assert ids == ["001234", "00056", "78"]


def test_an_email_of_many_unsafe_characters_gets_a_short_reason(tmp_path: Path) -> None:
    path = tmp_path / "learners.csv"
    local = "".join(chr(code) for code in range(0x100, 0x100 + 3000))
    path.write_text(f"Full Name,Email,External ID\nAnn,{local}@example.com,1\n")
    [issue] = read_learner_file(path).report.issues
    assert issue.code == "invalid_email"
    assert len(issue.message) <= 160


def test_zip_of_many_members_is_refused_before_listing_them(tmp_path: Path) -> None:
    path = tmp_path / "learners.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        for index in range(10_001):
            archive.writestr(zipfile.ZipInfo(str(index)), b"")
    code, message = file_error(path)
    assert code == "unsupported_file"
    assert "10,002 files" in message


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16"])
def test_text_that_utf8_expands_over_the_limit(tmp_path: Path, encoding: str) -> None:
    path = hostile.expanding_text_csv(tmp_path / "learners.csv", 1_900_000, encoding)
    assert path.stat().st_size < SMALL.max_bytes
    code, message = file_error(path, SMALL)
    assert code == "too_large"
    assert "Converted to UTF-8" in message
