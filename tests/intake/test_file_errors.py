"""Every bad file gets one file error that names the problem and the fix - never a traceback."""

from __future__ import annotations

import codecs
import zipfile
from pathlib import Path

import pytest

from tests.intake.conftest import WriteFile, read
from tui.intake import Limits, read_learner_file

HEADER = "Full Name,Email,External ID"


def file_error(path: Path, limits: Limits | None = None) -> tuple[str, str]:
    report = read_learner_file(path, limits).report
    assert len(report.file_errors) == 1, report.file_errors
    assert report.issues == []
    assert report.exit_code == 2
    return report.file_errors[0].code, report.file_errors[0].message


@pytest.mark.parametrize(
    "content",
    [b"", b"   \r\n\t\n", codecs.BOM_UTF8, codecs.BOM_UTF16_LE + " \n".encode("utf-16-le")],
)
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "learners.csv"
    path.write_bytes(content)
    code, message = file_error(path)
    assert code == "empty_file"
    assert "Full Name, Email, External ID" in message


def test_file_of_blank_rows_is_empty(write_file: WriteFile) -> None:
    code, _ = file_error(write_file([",,", ";;", ""]))
    assert code == "empty_file"


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"Full Name,Email\x00,External ID\n", "NUL bytes"),
        (codecs.BOM_UTF16_LE + b"F\x00u\x00\x00\xd8", "not valid UTF-16"),
        (codecs.BOM_UTF8 + b"Full Name,Email,External ID\n\xff\xfe\xfa\n", "not valid UTF-8"),
        (
            b"Full Name,Email,External ID\nAnn \x81\x8d\x8f,a@example.com,\n",
            "not valid Windows-1252, UTF-8 or UTF-16",
        ),
    ],
)
def test_not_text(tmp_path: Path, content: bytes, why: str) -> None:
    path = tmp_path / "learners.csv"
    path.write_bytes(content)
    code, message = file_error(path)
    assert code == "not_text"
    assert why in message
    assert "Save the sheet as CSV (UTF-8) or .xlsx" in message


def test_old_excel_xls_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "learners.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    code, message = file_error(path)
    assert code == "unsupported_file"
    assert "old Excel (.xls)" in message
    assert "CSV (UTF-8) or .xlsx" in message


@pytest.mark.parametrize(
    ("members", "what"),
    [
        ({"mimetype": "application/vnd.oasis.opendocument.spreadsheet", "content.xml": ""}, ".ods"),
        ({"Index/Document.iwa": "", "Metadata/Properties.plist": ""}, "Numbers document"),
        ({"learners.csv": HEADER}, "zip archive"),
    ],
)
def test_zip_based_formats_are_unsupported(
    tmp_path: Path, members: dict[str, str], what: str
) -> None:
    path = tmp_path / "learners.bin"
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    code, message = file_error(path)
    assert code == "unsupported_file"
    assert what in message


def test_too_large(write_file: WriteFile) -> None:
    path = write_file([HEADER] + [f"Learner {i},l{i}@example.com," for i in range(100)])
    code, message = file_error(path, Limits(max_bytes=1_000))
    assert code == "too_large"
    assert "limit" in message
    assert "Split" in message


def test_too_many_rows(write_file: WriteFile) -> None:
    path = write_file([HEADER] + [f"Learner {i},l{i}@example.com," for i in range(11)])
    code, message = file_error(path, Limits(max_rows=10))
    assert code == "too_many_rows"
    assert "11 learner rows; the limit is 10" in message


def test_missing_header_names_each_missing_one_and_all_three_are_required(
    write_file: WriteFile,
) -> None:
    code, message = file_error(write_file(["Full Name;Email", "Ann Lee;ann@example.com"]))
    assert code == "missing_header"
    assert '"External ID"' in message
    assert "All 3 headers are required" in message
    assert "External ID even when it is empty" in message


def test_missing_header_lists_every_missing_name(write_file: WriteFile) -> None:
    _, message = file_error(write_file(["Nom,Courriel", "Ann Lee,ann@example.com"]))
    assert '"Full Name", "Email" or "External ID"' in message
    assert 'The header row reads: "Nom", "Courriel"' in message


def test_duplicate_header(write_file: WriteFile) -> None:
    code, message = file_error(write_file(["Full Name,Email,External ID,email", "A,a@b.com,,"]))
    assert code == "duplicate_header"
    assert '"Email" is both column B and column D' in message


def test_header_and_no_rows(write_file: WriteFile) -> None:
    code, message = file_error(write_file([HEADER, ",,", ""]))
    assert code == "no_rows"
    assert "header (row 1) but no learners" in message


def test_missing_file_and_folder(tmp_path: Path) -> None:
    assert file_error(tmp_path / "nope.csv")[0] == "file_not_found"
    assert file_error(tmp_path)[0] == "unreadable_file"


def test_a_clean_file_is_no_file_error(write_file: WriteFile) -> None:
    report = read(write_file([HEADER, "Ann Lee,ann@example.com,"])).report
    assert report.file_errors == []
    assert report.exit_code == 0
