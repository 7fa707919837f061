"""An owner renames and archives a program from the Learning programs page (e, x): the service
keeps the change and its audit entries, and the archived program leaves the page."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from textual.widgets import Select, Static

from tests.app.conftest import connected, on_screen, type_text, until
from tui.app import RosterApp
from tui.screens.invitations import InvitationsScreen
from tui.screens.program_change import ArchiveProgram, EditProgram
from tui.screens.programs import ProgramsScreen
from tui.widgets.invitation_table import InvitationTable

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
        await type_text(pilot, "Python for Analysts")  # another program's name
        await pilot.press("enter")
        refusal = app.screen.query_one("#form-error", Static)
        await until(pilot, lambda: "choose another name" in str(refusal.render()))
        assert isinstance(app.screen, EditProgram)  # open, with what was typed
        await pilot.press(*["backspace"] * len("Python for Analysts"))
        await type_text(pilot, "Zoe's Hiring")  # sorts last: the rows move
        await pilot.press("enter")
        await on_screen(pilot, ProgramsScreen)
        await until(pilot, lambda: "Zoe's Hiring" in [p.name for p in screen.programs])
        await pilot.pause()

        await pilot.press("x")  # the cursor followed the program it was on
        await on_screen(pilot, ArchiveProgram)
        question = str(app.screen.query_one("#archive-question", Static).render())
        assert "Its 0 learners and 0 pending invitations stay" in question
        assert '`roster programs restore "Zoe\'s Hiring"` brings it back' in question
        await pilot.click("#archive")
        await on_screen(pilot, ProgramsScreen)
        await until(pilot, lambda: "Zoe's Hiring" not in [p.name for p in screen.programs])
    with sqlite3.connect(data_dir / "roster.db") as database:
        assert database.execute(
            "SELECT archived_at IS NOT NULL FROM programs WHERE name = 'Zoe''s Hiring'"
        ).fetchall() == [(1,)]
        actions = database.execute(
            "SELECT action, actor FROM audit_entries WHERE action LIKE 'program.%' ORDER BY seq"
        ).fetchall()
    admin = "admin@demo.roster.invalid"
    assert actions == [("program.edited", admin), ("program.archived", admin)]


async def test_an_archived_program_s_invitations_are_still_found_on_the_invitations_page(
    app: RosterApp,
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot)
        client = await app.client()
        (leadership,) = (await client.programs(q="Leadership")).items
        await client.archive_program(leadership.id)
        await pilot.press("v")
        await on_screen(pilot, InvitationsScreen)
        screen = app.screen
        table = screen.query_one(InvitationTable)
        await app.workers.wait_for_complete()  # the filters' choices
        screen.query_one("#program", Select).value = leadership.id  # offered as a filter
        await until(pilot, lambda: table.total == 20)
        await pilot.pause()
        shown = app.export_screenshot().replace("&#160;", " ")
        assert "Leadership Essentials (archived)" in shown
