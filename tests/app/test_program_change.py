"""An owner renames and archives a program from the Learning programs page (e, x): the service
keeps the change and its audit entries, and the archived program leaves the page."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from textual.widgets import Static

from tests.app.conftest import connected, on_screen, type_text, until
from tui.app import RosterApp
from tui.screens.program_change import ArchiveProgram, EditProgram
from tui.screens.programs import ProgramsScreen

pytestmark = pytest.mark.anyio


async def test_an_owner_renames_then_archives_a_program(app: RosterApp, data_dir: Path) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        await pilot.press("p")
        await until(
            pilot,
            lambda: isinstance(app.screen, ProgramsScreen) and app.screen.owner,
        )
        screen = app.screen
        assert isinstance(screen, ProgramsScreen)
        names = [program.name for program in screen.programs]
        await pilot.press(*["down"] * names.index("Inclusive Hiring"), "e")
        await on_screen(pilot, EditProgram)
        await pilot.press(*["backspace"] * len("Inclusive Hiring"))
        await type_text(pilot, "Fair Hiring")
        await pilot.press("enter")
        await on_screen(pilot, ProgramsScreen)
        await until(pilot, lambda: "Fair Hiring" in [p.name for p in screen.programs])

        await pilot.press("x")  # the cursor is still on it: the names sort the same
        await on_screen(pilot, ArchiveProgram)
        question = str(app.screen.query_one("#archive-question", Static).render())
        assert "0 learners and 0 pending invitations stay" in question
        await pilot.click("#archive")
        await on_screen(pilot, ProgramsScreen)
        await until(pilot, lambda: "Fair Hiring" not in [p.name for p in screen.programs])
    with sqlite3.connect(data_dir / "roster.db") as database:
        assert database.execute(
            "SELECT archived_at IS NOT NULL FROM programs WHERE name = 'Fair Hiring'"
        ).fetchall() == [(1,)]
        actions = database.execute(
            "SELECT action, actor FROM audit_entries WHERE action LIKE 'program.%' ORDER BY seq"
        ).fetchall()
    admin = "admin@demo.roster.invalid"
    assert actions == [("program.edited", admin), ("program.archived", admin)]
