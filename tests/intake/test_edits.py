"""Fixing a row and leaving one out, as the preview does, without the app: the file is checked
again as a whole, and the file on disk stays as it was."""

from __future__ import annotations

import polars as pl
import pytest

from tests.intake.conftest import WriteFile, codes_by_row, read
from tui.intake.edits import OnlyRowError, can_leave_out, edit_row, leave_out_row
from tui.intake.export import preview_frame

HEADER = "Full Name,Email,External ID"
ROWS = [
    "Ann Lee,ann.lee@example.org,A-1",  # row 2
    ",no.name@example.org,",  # row 3: no name
    "Ann Again,ANN.LEE@example.org,A-2",  # row 4: the same learner as row 2
]


def test_a_fixed_cell_makes_its_row_ready(write_file: WriteFile) -> None:
    path = write_file([HEADER, *ROWS])
    before = path.read_bytes()
    learner_file = read(path)
    assert (learner_file.summary.ready, learner_file.summary.errors) == (1, 2)

    fixed = edit_row(learner_file, 3, {"full_name": "  Nora Name "})

    assert (fixed.summary.rows, fixed.summary.ready, fixed.summary.errors) == (3, 2, 1)
    assert codes_by_row(fixed) == {4: ["duplicate_email"]}
    names = dict(zip(fixed.learners["row"], fixed.learners["full_name"], strict=True))
    assert names == {2: "Ann Lee", 3: "Nora Name", 4: "Ann Again"}  # trimmed; others kept
    assert fixed.path == path
    assert path.read_bytes() == before


def test_fixing_the_first_of_two_rows_ends_the_duplicate_of_the_second(
    write_file: WriteFile,
) -> None:
    learner_file = read(write_file([HEADER, *ROWS]))
    fixed = edit_row(
        learner_file,
        2,
        {"full_name": "Ann Lee", "email": "ann.lee@example.com", "external_id": "A-1"},
    )
    assert codes_by_row(fixed) == {3: ["missing_full_name"]}
    assert fixed.summary.ready == 2


def test_an_edit_that_breaks_a_row_is_an_error_on_that_row(write_file: WriteFile) -> None:
    learner_file = read(write_file([HEADER, *ROWS]))
    broken = edit_row(learner_file, 2, {"email": "ann.lee@example"})
    assert codes_by_row(broken)[2] == ["invalid_email"]
    assert 4 not in codes_by_row(broken)  # no longer the same learner as row 2
    assert broken.summary.errors == 2


def test_a_row_left_out_is_kept_apart_the_others_checked_again_and_d_again_undoes_it(
    write_file: WriteFile,
) -> None:
    path = write_file([HEADER, *ROWS])
    before = path.read_bytes()
    learner_file = read(path)

    left = leave_out_row(learner_file, 2)

    assert list(left.learners["row"]) == [3, 4]  # the rows the import sends
    assert list(left.left_out["row"]) == [2]
    assert codes_by_row(left) == {3: ["missing_full_name"]}  # row 4 has no earlier twin now
    summary = left.summary
    assert (summary.rows, summary.ready, summary.errors, summary.left_out) == (3, 1, 1, 1)
    frame = preview_frame(left)
    assert list(frame["row"]) == [2, 3, 4]
    assert frame.filter(pl.col("row") == 2)["status"].to_list() == ["left_out"]
    assert path.read_bytes() == before

    back = leave_out_row(left, 2)
    assert list(back.learners["row"]) == [2, 3, 4] and back.left_out.height == 0
    assert codes_by_row(back) == codes_by_row(learner_file)
    assert (back.summary.rows, back.summary.left_out) == (3, 0)


def test_the_only_row_cannot_be_left_out(write_file: WriteFile) -> None:
    learner_file = read(write_file([HEADER, ROWS[0]]))
    assert not can_leave_out(learner_file)
    with pytest.raises(OnlyRowError):
        leave_out_row(learner_file, 2)
    assert can_leave_out(leave_out_row(read(write_file([HEADER, *ROWS])), 3))
