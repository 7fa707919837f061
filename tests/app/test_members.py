"""The Members screen: a program's members from Learning programs, marked and removed in
batches after the question, with the seats freed and the reason kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from textual.widgets import Button, Input

from tests.app.conftest import connected, members_of, on_screen, text_of, type_text, until
from tui.app import RosterApp
from tui.screens.bulk_progress import BulkProgress
from tui.screens.members import ConfirmRemoval, MembersScreen

pytestmark = pytest.mark.anyio
PROGRAM = "Leadership Essentials"
PILOT = "Pilot - 30 seats"  # the members' contract, nearly full


def stored(data_dir: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(data_dir / "roster.db") as db:
        return db.execute(query).fetchall()


async def test_marked_members_are_removed_in_batches_with_the_reason_and_their_seats_freed(
    app: RosterApp, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(MembersScreen, "batch_size", 1)  # two batches for two members
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        with sqlite3.connect(data_dir / "roster.db") as db:  # learner text is shown as text
            db.execute("UPDATE learners SET full_name = '[/b] Ann' WHERE email LIKE 'amara%'")
        screen = await members_of(pilot, PROGRAM)
        await until(pilot, lambda: screen.total == 20)
        client = await app.client()
        contracts = (await client.contracts(screen.program.id)).items
        assert next(c.seats_left for c in contracts if c.name == PILOT) == 2
        assert "20 members" in text_of(pilot, "#members-total")
        assert screen.current is not None and screen.current.full_name == "[/b] Ann"

        await pilot.press("space", "space")  # marks two, moving down each time
        assert "2 marked" in text_of(pilot, "#members-total")
        await pilot.press("x")
        await on_screen(pilot, ConfirmRemoval)
        labels = [str(button.label) for button in app.screen.query(Button)]
        assert labels[1:] == ["The 2 marked", "All 20 members", "Cancel"]
        app.screen.query_one("#reason", Input).value = "Left [b]the[/b] company"
        await pilot.click("#scope-1")
        await on_screen(pilot, BulkProgress)
        dialog = app.screen
        assert isinstance(dialog, BulkProgress)
        await until(pilot, lambda: dialog.finished)
        assert text_of(pilot, "#bulk-counts") == "2 of 2 members removed."
        await pilot.press("enter")
        await on_screen(pilot, MembersScreen)
        await until(pilot, lambda: screen.total == 18)
        client = await app.client()
        contracts = (await client.contracts(screen.program.id)).items
        assert next(c.seats_left for c in contracts if c.name == PILOT) == 2 + 2

    removed = stored(
        data_dir,
        "SELECT l.email, i.removed_reason FROM invitations i JOIN learners l "
        "ON l.id = i.learner_id WHERE i.status = 'removed' ORDER BY l.email",
    )
    assert removed == [
        ("amara.okafor@example.com", "Left [b]the[/b] company"),
        ("bjorn.lindqvist@example.com", "Left [b]the[/b] company"),
    ]
    # One audit entry per batch, each naming its member.
    assert stored(data_dir, "SELECT count FROM audit_entries WHERE action = 'member.removed'") == [
        (1,),
        (1,),
    ]


async def test_the_reason_is_typed_first_and_enter_in_it_removes_no_one(
    app: RosterApp, data_dir: Path
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        screen = await members_of(pilot, PROGRAM)
        await until(pilot, lambda: screen.total == 20)
        await pilot.press("slash", *"amara", "enter")
        await until(pilot, lambda: screen.total == 1)

        await pilot.press("x")
        await on_screen(pilot, ConfirmRemoval)
        labels = [str(button.label) for button in app.screen.query(Button)]
        assert labels[1:] == ["The 1 member of this search", "Cancel"]
        await type_text(pilot, "Moved on")
        await pilot.press("enter")  # from the reason to the choices: nothing removed yet
        assert isinstance(app.screen, ConfirmRemoval)
        assert app.screen.focused is app.screen.query_one("#scope-0", Button)
        await pilot.press("enter")
        await on_screen(pilot, MembersScreen)
        await until(pilot, lambda: screen.total == 0)
    removed = stored(data_dir, "SELECT removed_reason FROM invitations WHERE status = 'removed'")
    assert removed == [("Moved on",)]
