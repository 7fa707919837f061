"""A file with HR's headers reaches the preview, which says which column became which field."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Select

from tests.app.conftest import choose, connected, on_screen, text_of, to_preview, until, upload
from tui.app import RosterApp
from tui.screens.choose_columns import ChooseColumns
from tui.screens.pickers import ChooseContract, ChooseProgram
from tui.screens.preview import PreviewScreen

pytestmark = pytest.mark.anyio


async def test_hr_headers_reach_the_preview_naming_their_columns(
    app: RosterApp, tmp_path: Path
) -> None:
    path = tmp_path / "hr.csv"
    # "[Name]" is the alias Name to the header match, and markup to a careless widget.
    path.write_text("[Name],Work Email,Employee ID\nAnn Lee,ann@example.org,E-1\n")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_preview(pilot, path)
        summary = text_of(pilot, "#summary")
        assert "1 ready" in summary
        assert (
            "Columns: Full Name ← [Name], Email ← Work Email, External ID ← Employee ID"
        ) in summary


async def test_columns_chosen_in_the_dialog_read_the_file(app: RosterApp, tmp_path: Path) -> None:
    path = tmp_path / "fr.csv"
    path.write_text("Nom,Courriel,Employee ID\nAnn Lee,ann@example.org,E-1\n")
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        await pilot.press("i")
        await choose(pilot, ChooseProgram, "inclusive")
        await choose(pilot, ChooseContract, "enterprise")
        await upload(pilot, path)
        await on_screen(pilot, ChooseColumns)
        dialog = app.screen
        # Employee ID is an alias: already chosen. Nom and Courriel are the admin's to choose.
        assert dialog.query_one("#column-external_id", Select).value == 2
        dialog.query_one("#column-full_name", Select).value = 0
        await pilot.click("#apply")
        assert "Choose the column of Email" in text_of(pilot, "#columns-error")
        dialog.query_one("#column-email", Select).value = 1
        # A button takes no second press while it still shows the first.
        await until(pilot, lambda: not dialog.query_one("#apply").has_class("-active"))
        await pilot.click("#apply")
        await on_screen(pilot, PreviewScreen)
        summary = text_of(pilot, "#summary")
        assert "1 ready" in summary
        assert "Columns: Full Name ← Nom, Email ← Courriel, External ID ← Employee ID" in summary
