"""A CSV cell Roster writes from its records: a value a spreadsheet would run as a formula is
neutralized by the error file's own rule; lists and objects are their JSON."""

from __future__ import annotations

import pytest

from tui.cli.output import csv_cell


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"])
def test_a_formula_leading_cell_gets_the_apostrophe(lead: str) -> None:
    assert csv_cell(f"{lead}SUM(A1)") == f"'{lead}SUM(A1)"


def test_other_cells_are_as_they_are() -> None:
    assert [csv_cell(value) for value in ("Ann Lee", None, 3, True, ["a@x.org"], {"k": 1})] == [
        "Ann Lee",
        "",
        "3",
        "true",
        '["a@x.org"]',
        '{"k": 1}',
    ]
