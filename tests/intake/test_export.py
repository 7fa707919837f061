"""The preview's rows and the error file, without the app: statuses, and a file that goes round."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from tui.intake import read_learner_file
from tui.intake.export import errors_file_for, export_issues, preview_frame

from .conftest import WriteFile

LINES = [
    "Full Name,Email,External ID",
    "Ann Lee,ann@example.com,E1",  # 2 ready
    ",bob@example.com,E2",  # 3 error: no name
    "Carla Diaz,carla@gmial.com,=E3",  # 4 warnings: typo, formula
    "Dmitri Ivanov,dmitri@example.com,E4",  # 5 skipped by the service
    "Élodie Roux,elodie@example,E5",  # 6 error: invalid email
]


def test_each_row_gets_its_worst_status_and_every_message(write_file: WriteFile) -> None:
    learner_file = read_learner_file(write_file(LINES))
    skipped = pl.DataFrame(
        {
            "row": [5],
            "column": ["Email"],
            "severity": ["warning"],
            "code": ["already_invited"],
            "message": ["Already invited on 2026-11-02; no second invitation."],
        },
        schema=learner_file.issues.schema,
    )
    checked = replace(learner_file, issues=pl.concat([learner_file.issues, skipped]))
    frame = preview_frame(checked)
    statuses = dict(zip(frame["row"], frame["status"], strict=True))
    assert statuses == {2: "ready", 3: "error", 4: "warning", 5: "skipped", 6: "error"}
    carla = frame.filter(frame["row"] == 4).row(0, named=True)
    assert "gmail.com" in carla["issue"] and "formula" in carla["issue"]
    assert frame.filter(frame["row"] == 3)["bad_column"].item() == "Full Name"
    assert frame.filter(frame["row"] == 2)["issue"].item() == ""


def test_the_error_file_holds_the_rows_with_issues_and_reads_back_the_same(
    write_file: WriteFile, tmp_path: Path
) -> None:
    source = write_file(LINES)
    learner_file = read_learner_file(source)
    frame = preview_frame(learner_file)
    path = export_issues(frame, errors_file_for(source))
    assert path == tmp_path / "learners-errors.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbfFull Name,Email,External ID,Error\r\n")
    with path.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.reader(file))
    assert [row[0] for row in rows[1:]] == ["", "Carla Diaz", "Élodie Roux"]
    assert rows[2][2] == "'=E3"  # a spreadsheet shows it as text, not a formula
    assert rows[3][3].startswith("Row 6: ")

    again = read_learner_file(path)  # fixed nothing, uploaded again: the same cells and issues
    assert again.learners["external_id"].to_list() == ["E2", "=E3", "E5"]
    assert [issue.code for issue in again.report.issues] == [
        "missing_full_name",
        "email_domain_typo",
        "formula_like",
        "invalid_email",
    ]
    assert [warning.code for warning in again.report.file_warnings] == []  # Error: a known column


def test_an_error_file_never_replaces_a_file_unasked(write_file: WriteFile, tmp_path: Path) -> None:
    source = write_file(LINES)
    learner_file = read_learner_file(source)
    frame = preview_frame(learner_file)
    earlier = tmp_path / "learners-errors.csv"
    earlier.write_text("the admin's own notes")

    second = export_issues(frame, errors_file_for(source))

    assert second == tmp_path / "learners-errors-2.csv"
    assert earlier.read_text() == "the admin's own notes"
    with pytest.raises(FileExistsError):
        export_issues(frame, earlier)
    assert earlier.read_text() == "the admin's own notes"
    export_issues(frame, earlier, replace=True)  # the admin said so in Save as
    assert earlier.read_bytes().startswith(b"\xef\xbb\xbfFull Name,Email,External ID,Error")
