"""`roster check` and `roster import` on files with HR's headers, and --column, as processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_cli import roster
from tests.test_operators import refused, run

HR_FILE = "Name,Work Email,Employee ID\nAnn Lee,ann@example.com,E-1\n"
FRENCH_FILE = "Nom,Courriel,Matricule\nAnn Lee,ann@example.com,E-1\n"
FRENCH_COLUMNS = ("--column", "Full Name=Nom", "--column", "email=Courriel")


def test_check_names_the_columns_it_read_the_fields_from(tmp_path: Path) -> None:
    path = tmp_path / "hr.csv"
    path.write_text(HR_FILE)
    table = roster("check", str(path))
    assert table.returncode == 0, table.stderr
    assert "Columns: Full Name ← Name, Email ← Work Email, External ID ← Employee ID" in (
        table.stdout
    )
    document = json.loads(roster("check", str(path), "--format", "json").stdout)
    assert document["columns"] == {
        "Full Name": "Name",
        "Email": "Work Email",
        "External ID": "Employee ID",
    }
    assert document["ready"] == 1


def test_missing_header_says_which_column_options_to_pass(tmp_path: Path) -> None:
    path = tmp_path / "fr.csv"
    path.write_text(FRENCH_FILE)
    result = roster("check", str(path), "--format", "json")
    assert result.returncode == 2
    [error] = json.loads(result.stdout)["file_errors"]
    assert error["code"] == "missing_header"
    assert 'reads: "Nom", "Courriel", "Matricule"' in error["message"]
    assert '--column "Email=Courriel"' in error["message"]


def test_check_reads_the_columns_chosen(tmp_path: Path) -> None:
    path = tmp_path / "fr.csv"
    path.write_text(FRENCH_FILE)
    chosen = (*FRENCH_COLUMNS, "--column", "External ID=Matricule")
    result = roster("check", str(path), *chosen, "--format", "json")
    assert result.returncode == 0, result.stdout
    assert json.loads(result.stdout)["columns"] == {
        "Full Name": "Nom",
        "Email": "Courriel",
        "External ID": "Matricule",
    }


@pytest.mark.parametrize(
    ("column", "said"),
    [
        ("Mail=Courriel", 'Roster has no field "Mail"'),
        ("External ID=courriel", 'the column "courriel" to both Email and External ID'),
    ],
)
def test_column_options_that_cannot_be_used_are_refused(
    tmp_path: Path, column: str, said: str
) -> None:
    path = tmp_path / "fr.csv"
    path.write_text(FRENCH_FILE)
    result = roster("check", str(path), *FRENCH_COLUMNS, "--column", column, "--format", "json")
    error = refused(result)
    assert said in error["message"]


def test_a_chosen_header_the_file_lacks_is_refused_listing_the_file_s(tmp_path: Path) -> None:
    path = tmp_path / "fr.csv"
    path.write_text(FRENCH_FILE)
    result = roster(
        "check", str(path), "--column", "External ID=Employee number", "--format", "json"
    )
    assert result.returncode == 2
    error, missing = json.loads(result.stdout)["file_errors"]
    assert (error["code"], missing["code"]) == ("column_not_found", "missing_header")
    assert 'no column "Employee number"' in error["message"]
    assert '"Nom", "Courriel", "Matricule"' in error["message"]


def test_import_invites_from_the_columns_chosen(tmp_path: Path) -> None:
    path = tmp_path / "fr.csv"
    path.write_text(FRENCH_FILE)
    target = ("--program", "Leadership Essentials", "--contract", "Pilot - 30 seats")
    unknown = run(
        "import",
        str(path),
        *target,
        "--column",
        "Courriel=Email",
        "--format",
        "json",
        tmp_path=tmp_path,
    )
    assert "Courriel" in refused(unknown)["message"]
    done = run(
        "import",
        str(path),
        *target,
        *FRENCH_COLUMNS,
        "--column",
        "External ID=Matricule",
        "--no-send",
        "--yes",
        "--format",
        "json",
        tmp_path=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["invited"] == 1
    assert "Columns: Full Name ← Nom, Email ← Courriel, External ID ← Matricule" in done.stderr
    listed = run("invitations", *target[:2], "--format", "json", tmp_path=tmp_path)
    [invited] = [i for i in json.loads(listed.stdout)["items"] if i["email"] == "ann@example.com"]
    assert (invited["full_name"], invited["external_id"]) == ("Ann Lee", "E-1")
