"""Sync with a file in the app: y on Learning programs, the contract, the file, then the Sync
preview's diff row by row; nothing changes before its button, escape gives the upload up."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Select

from tests.app.conftest import choose, connected, on_screen, text_of, type_text, until
from tui.app import RosterApp
from tui.screens.choose_columns import ChooseColumns
from tui.screens.pickers import ChooseContract
from tui.screens.programs import ProgramsScreen
from tui.screens.sync_file import SyncFile
from tui.screens.sync_preview import AllowRemovals, SyncDone, SyncPreview

pytestmark = pytest.mark.anyio
PROGRAM = "Leadership Essentials"  # 20 members in the demo data


def stored(data_dir: Path, query: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(data_dir / "roster.db") as db:
        return db.execute(query, params).fetchall()


def members(data_dir: Path) -> list[str]:
    return [
        str(email)
        for (email,) in stored(
            data_dir,
            "SELECT l.email FROM invitations i JOIN learners l ON l.id = i.learner_id "
            "JOIN programs p ON p.id = i.program_id "
            "WHERE p.name = ? AND i.status IN ('accepted', 'pending') ORDER BY l.email",
            PROGRAM,
        )
    ]


def hr_file(data_dir: Path, tmp_path: Path, missing: int) -> Path:
    """The program's members but the last `missing`, one renamed, and two new people."""
    kept = stored(
        data_dir,
        "SELECT l.full_name, l.email, l.external_id FROM invitations i "
        "JOIN learners l ON l.id = i.learner_id JOIN programs p ON p.id = i.program_id "
        "WHERE p.name = ? AND i.status = 'accepted' ORDER BY l.email",
        PROGRAM,
    )[:-missing]
    rows = [f"{name},{email},{external_id or ''}" for name, email, external_id in kept]
    rows[0] = rows[0].replace("Amara Okafor", "Amara [b]Okafor-Reid")  # renamed, shown as text
    rows += ["New Person,new.person@example.org,N-1", "Second Newcomer,second.new@example.org,"]
    path = tmp_path / "hr.csv"
    # Headers HR writes: Email is Roster's to ask for (the dialog), the others aliases.
    path.write_text("\n".join(["Name,Courriel,Employee ID", *rows]) + "\n", encoding="utf-8")
    return path


async def to_sync_preview(
    pilot: Pilot[None], data_dir: Path, tmp_path: Path, missing: int = 2
) -> SyncPreview:
    await connected(pilot)
    await pilot.press("p")
    await on_screen(pilot, ProgramsScreen)
    programs = pilot.app.screen
    assert isinstance(programs, ProgramsScreen)
    await until(pilot, lambda: bool(programs.programs))
    names = [program.name for program in programs.programs]
    programs.query_one(DataTable).move_cursor(row=names.index(PROGRAM))
    await pilot.press("y")
    await choose(pilot, ChooseContract, "enterprise")
    await on_screen(pilot, SyncFile)
    await type_text(pilot, str(hr_file(data_dir, tmp_path, missing)))
    await pilot.press("enter")
    await on_screen(pilot, ChooseColumns)
    pilot.app.screen.query_one("#column-email", Select).value = 1
    await pilot.click("#apply")
    await on_screen(pilot, SyncPreview)
    screen = pilot.app.screen
    assert isinstance(screen, SyncPreview)
    return screen


def markers(screen: SyncPreview) -> list[str]:
    table = screen.query_one(DataTable)
    return [str(table.get_row_at(row)[0]) for row in range(table.row_count)]


async def commit(pilot: Pilot[None]) -> str:
    await pilot.click("#sync-commit")
    await on_screen(pilot, SyncDone)
    said = text_of(pilot, "#sync-done-counts")
    await pilot.press("enter")
    await on_screen(pilot, ProgramsScreen)
    return said


async def test_the_preview_shows_each_change_with_its_marker_and_f_shows_one_group(
    app: RosterApp, data_dir: Path, tmp_path: Path
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_sync_preview(pilot, data_dir, tmp_path)
        summary = text_of(pilot, "#sync-summary")
        assert "+ 2 to invite · ~ 1 to update · − 2 not in the file" in summary
        assert "= 17 unchanged · ✗ 0 rows with errors" in summary
        assert markers(screen) == ["~", "+", "+", "−", "−"]
        assert "Amara Okafor → Amara [b]Okafor-Reid" in text_of(pilot, "#sync-detail")
        button = screen.query_one("#sync-commit", Button)
        assert str(button.label) == "Sync: invite 2, update 1, remove 0"
        await pilot.press("f")
        assert markers(screen) == ["+", "+"]
        assert "showing to invite" in text_of(pilot, "#sync-summary")
        await pilot.press("f", "f")
        assert markers(screen) == ["−", "−"]


async def test_a_sync_without_the_box_removes_nobody(
    app: RosterApp, data_dir: Path, tmp_path: Path
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await to_sync_preview(pilot, data_dir, tmp_path)
        said = await commit(pilot)
    assert "2 invited, 1 updated, 0 removed" in said
    assert len(members(data_dir)) == 20 + 2
    renamed = "SELECT full_name FROM learners WHERE email LIKE 'amara%'"
    assert stored(data_dir, renamed) == [("Amara [b]Okafor-Reid",)]


async def test_a_sync_with_the_box_removes_who_is_not_in_the_file(
    app: RosterApp, data_dir: Path, tmp_path: Path
) -> None:
    before = None
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_sync_preview(pilot, data_dir, tmp_path)
        before = members(data_dir)
        await pilot.click("#remove-missing")
        button = screen.query_one("#sync-commit", Button)
        assert str(button.label) == "Sync: invite 2, update 1, remove 2"
        said = await commit(pilot)
    assert "2 invited, 1 updated, 2 removed" in said
    after = members(data_dir)
    assert set(before) - set(after) == set(before[-2:])
    assert len(after) == 20


async def test_escape_gives_the_upload_up_and_changes_nothing(
    app: RosterApp, data_dir: Path, tmp_path: Path
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await to_sync_preview(pilot, data_dir, tmp_path)
        before = members(data_dir)
        await pilot.press("escape")
        await on_screen(pilot, ProgramsScreen)
        syncs = "SELECT status FROM imports WHERE mode = 'sync'"
        await until(pilot, lambda: stored(data_dir, syncs) == [("abandoned",)])
        await pilot.press("h")  # the Imports page says the preview changed nothing
        await until(
            pilot, lambda: "Sync previewed and not applied" in text_of(pilot, "#import-detail")
        )
    assert members(data_dir) == before


async def test_too_many_removals_are_refused_until_the_admin_allows_them(
    app: RosterApp, data_dir: Path, tmp_path: Path
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await to_sync_preview(pilot, data_dir, tmp_path, missing=3)  # 3 of 20: over 10%
        await pilot.press("r", "tab", "tab", "enter")  # tick the box, then the button
        await on_screen(pilot, AllowRemovals)
        assert "removes 3 of the 20 learners" in text_of(pilot, "#allow-question")
        assert len(members(data_dir)) == 20
        await pilot.press("tab", "enter")  # Allow 3 removals
        await on_screen(pilot, SyncDone)
        assert "2 invited, 1 updated, 3 removed" in text_of(pilot, "#sync-done-counts")
    assert len(members(data_dir)) == 19
    # The preview's upload, the refused removing sync, the allowed one: only the last applied.
    syncs = "SELECT status, remove_missing FROM imports ORDER BY id"
    assert stored(data_dir, syncs) == [("abandoned", 0), ("abandoned", 1), ("committed", 1)]
