"""The Activity page: the audit record, newest first, filtered by action, and the highlighted
entry in full under the table, shown as text whatever it holds."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Select

from tests.app.conftest import (
    ROWS,
    complete,
    connected,
    learner_file,
    on_screen,
    text_of,
    to_preview,
    until,
)
from tui.app import RosterApp
from tui.screens.activity import ActivityScreen
from tui.screens.imports import ImportsScreen
from tui.screens.save_as import SaveAs
from tui.wire import models as wire

pytestmark = pytest.mark.anyio


async def test_an_empty_record_says_no_changes_yet_and_a_search_says_none_match(
    app: RosterApp,
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        await pilot.press("t")
        await on_screen(pilot, ActivityScreen)
        await until(pilot, lambda: "No changes recorded yet" in text_of(pilot, "#activity-detail"))
        app.screen.query_one("#activity-search", Input).value = "nobody"
        await until(pilot, lambda: "No entry matches" in text_of(pilot, "#activity-detail"))


async def test_an_entry_in_full_under_the_table(app: RosterApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        client = await app.client()
        program = (await client.programs()).items[0]
        contract = next(c for c in (await client.contracts(program.id)).items if c.available)
        invited = await client.invite(
            program.id,
            wire.InviteLearner(
                full_name="Mallory Doe",
                email="mallory@example.com",
                contract_id=contract.id,
                send_email=False,
            ),
        )
        await client.edit_program(program.id, wire.ProgramChange(description="Renewed"))
        await client.revoke(invited.id)
        await pilot.press("t")
        await on_screen(pilot, ActivityScreen)
        table = app.screen.query_one("#activity", DataTable)
        await until(pilot, lambda: table.row_count == 3)
        counts = {str(table.get_row_at(row)[1]): table.get_row_at(row)[2] for row in range(3)}
        assert counts == {
            "invitation.revoked": "1",
            "program.edited": "—",
            "invitation.created": "1",
        }
        detail = text_of(pilot, "#activity-detail")
        assert "invitation.revoked" in detail and program.name in detail
        assert "1 learner: mallory@example.com" in detail
        assert f"invitation_id {invited.id}" in detail

        app.screen.query_one("#activity-action", Select).value = "invitation.created"
        await until(pilot, lambda: table.row_count == 1)
        await until(pilot, lambda: "invitation.created" in text_of(pilot, "#activity-detail"))
        assert "1 entry" in text_of(pilot, "#activity-total")


async def test_an_imports_results_saved_from_the_imports_page(
    app: RosterApp, tmp_path: Path
) -> None:
    path = learner_file(tmp_path, *ROWS)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_preview(pilot, path)
        await complete(pilot)
        await pilot.press("enter")  # closes Import complete
        await pilot.press("h")
        await on_screen(pilot, ImportsScreen)
        await until(pilot, lambda: app.screen.query_one(DataTable).row_count == 1)
        await pilot.press("r")
        await on_screen(pilot, SaveAs)
        app.screen.query_one("#save-path", Input).value = str(tmp_path / "results.csv")
        await pilot.press("enter")
        await until(pilot, (tmp_path / "results.csv").exists)
        with (tmp_path / "results.csv").open(encoding="utf-8-sig", newline="") as file:
            saved = list(csv.DictReader(file))
        assert [(line["Row"], line["Email"], line["Outcome"]) for line in saved] == [
            ("2", "ann.lee@example.org", "invited"),
            ("3", "no.name@example.org", "error"),
            ("4", "bob.ray@example.org", "invited"),
            ("5", "ANN.LEE@example.org", "error"),
            ("6", "cy.young@example.org", "invited"),
        ]
        await pilot.press("t")  # the import in the record
        await on_screen(pilot, ActivityScreen)
        await until(pilot, lambda: "import.committed" in text_of(pilot, "#activity-detail"))
        assert "file_name learners.csv, rows 3" in text_of(pilot, "#activity-detail")
