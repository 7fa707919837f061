"""The Invitations page: filter and search every invitation, mark some, and resend, remind or
revoke them, each after a question that names the count; the database shows what happened."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, ProgressBar, Select

from tests.app.conftest import (
    ENTERPRISE,
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
from tui.screens.bulk_progress import BulkProgress
from tui.screens.imports import ImportsScreen
from tui.screens.invitations import ConfirmAction, InvitationsScreen
from tui.screens.save_as import SaveAs
from tui.service.schema import newest_revision
from tui.widgets.invitation_table import COLUMNS, MARK, InvitationTable, column_widths

pytestmark = pytest.mark.anyio


def stored(data_dir: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(data_dir / "roster.db") as db:
        return db.execute(sql, args).fetchall()


def emails(data_dir: Path, ids: str) -> int:
    """Emails queued for these invitations (the demo's own were created without any)."""
    query = f"SELECT count(*) FROM outbox WHERE invitation_id IN ({ids})"
    return int(stored(data_dir, query)[0][0])


@pytest.mark.parametrize("room", [78, 80, 118, 160, 300])
def test_the_view_never_ends_inside_a_column(room: int) -> None:
    """The columns that fit whole fill the view; the first of the rest starts past its edge."""
    widths = column_widths(room)
    ends = [MARK + sum(width + 1 for width in widths[: n + 1]) for n in range(len(widths))]
    shown = [end for end in ends if end <= room]
    assert shown[-1] == room
    assert all(width >= column.width for width, column in zip(widths, COLUMNS, strict=True))
    if room <= 80:  # at 80 columns: who, the invitation's status, its email's, its expiry
        assert [column.title for column in COLUMNS[: len(shown)]] == [
            "Learner",
            "Email",
            "Status",
            "Delivery",
            "Expires",
        ]


async def test_filter_search_mark_and_act_on_invitations(app: RosterApp, data_dir: Path) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot)
        await pilot.press("v")
        await on_screen(pilot, InvitationsScreen)
        screen = app.screen
        table = screen.query_one(InvitationTable)
        (everyone,) = stored(data_dir, "SELECT count(*) FROM invitations")[0]
        await until(pilot, lambda: table.total == everyone)

        screen.query_one("#status", Select).value = "pending"
        (pending,) = stored(data_dir, "SELECT count(*) FROM invitations WHERE status='pending'")[0]
        await until(pilot, lambda: table.total == pending)
        assert pending < everyone

        await pilot.press("slash", *"ximena", "enter")  # search: case and accents ignored
        await until(pilot, lambda: table.total == 1)
        assert table.current is not None and table.current.full_name == "Ximena Torres"
        assert "Ximena Torres <ximena.torres@example.com>" in text_of(pilot, "#invitation-detail")
        screen.query_one("#search", Input).value = "nobody by this name"
        await until(pilot, lambda: table.total == 0)
        assert text_of(pilot, "#invitation-detail") == "No invitations in this filter."

        screen.query_one("#search", Input).value = ""
        await until(pilot, lambda: table.total == pending)
        table.focus()
        await pilot.press("space", "space")  # marks two, moving down each time
        marked = sorted(table.marked)
        assert len(marked) == 2
        await pilot.press("x")
        await on_screen(pilot, ConfirmAction)
        choices = [str(button.label) for button in app.screen.query(Button)]
        assert choices[:-1] == [
            f"This one ({table.current.email})",
            "The 2 marked",
            f"All {pending} in this filter",
        ]
        await pilot.click("#scope-1")
        await on_screen(pilot, BulkProgress)  # two at once: the progress, then the count
        await until(pilot, lambda: "2 of 2 invitations revoked." in text_of(pilot, "#bulk-counts"))
        await pilot.press("enter")
        await on_screen(pilot, InvitationsScreen)
        await until(pilot, lambda: table.total == pending - 2)
        ids = ",".join(map(str, marked))
        assert stored(data_dir, f"SELECT DISTINCT status FROM invitations WHERE id IN ({ids})") == [
            ("revoked",)
        ]

        first = table.current
        assert first is not None
        await pilot.press("s")
        await on_screen(pilot, ConfirmAction)
        await pilot.click("#scope-0")  # this one
        await until(pilot, lambda: emails(data_dir, str(first.id)) == 1)  # a new email


def noticed(pilot: Pilot[None], words: str) -> bool:
    return any(words in str(note.message) for note in pilot.app._notifications)


async def test_a_first_load_the_service_fails_says_so_and_how_to_try_again(
    app: RosterApp, data_dir: Path
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot)
        stored(data_dir, "DROP TABLE invitations")  # a damaged database: the list fails
        await pilot.press("v")
        await on_screen(pilot, InvitationsScreen)
        await until(pilot, lambda: "could not" in text_of(pilot, "#invitation-detail"))
        assert text_of(pilot, "#invitation-detail") == (
            "The invitations could not be loaded. r tries again."
        )
        said = "The database lacks part of Roster's schema; it was changed outside Roster "
        await until(pilot, lambda: noticed(pilot, said + "(SQLite: no such table: invitations)"))


async def test_a_schema_a_newer_roster_migrated_under_the_app_is_named_not_called_damage(
    app: RosterApp, data_dir: Path
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot)
        # As a newer Roster's migration would leave it: a revision this one does not know,
        # and a column of this one's schema renamed.
        stored(data_dir, "UPDATE alembic_version SET version_num = '0099'")
        stored(data_dir, "ALTER TABLE invitations RENAME COLUMN email_status TO email_state")
        await pilot.press("v")
        await on_screen(pilot, InvitationsScreen)
        said = "The database was migrated by a newer Roster while this service ran (its schema "
        head = newest_revision()
        await until(pilot, lambda: noticed(pilot, said + f"is 0099, this service's {head})."))
        assert not noticed(pilot, "Restore a backup")


async def test_remind_names_the_invitations_emailed_a_week_ago(
    app: RosterApp, data_dir: Path
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        quiet = stored(data_dir, "SELECT id FROM invitations WHERE status = 'pending' LIMIT 3")
        ids = ",".join(str(row[0]) for row in quiet)
        with sqlite3.connect(data_dir / "roster.db") as db:
            db.execute(
                f"UPDATE invitations SET created_at = datetime('now', '-10 days'), "
                f"email_sent_at = datetime('now', '-10 days') "
                f"WHERE id IN ({ids})"
            )
        await pilot.press("v")
        await on_screen(pilot, InvitationsScreen)
        screen = app.screen
        table = screen.query_one(InvitationTable)
        await until(pilot, lambda: table.total > 0)
        screen.query_one("#status", Select).value = "pending"
        await until(pilot, lambda: table.current is not None and table.current.status == "pending")
        await pilot.press("m")
        await on_screen(pilot, ConfirmAction)
        labels = [str(button.label) for button in app.screen.query(Button)]
        assert "All 3 emailed 7+ days ago in this filter" in labels
        await pilot.click(f"#scope-{labels.index('All 3 emailed 7+ days ago in this filter')}")
        await until(pilot, lambda: emails(data_dir, ids) == 3)  # one new email each


async def test_the_import_history_opens_an_import_s_invitations(
    app: RosterApp, tmp_path: Path
) -> None:
    path = learner_file(tmp_path, *ROWS)
    async with app.run_test(size=(120, 40)) as pilot:
        await to_preview(pilot, path)
        await complete(pilot)
        await pilot.press("enter")  # closes Import complete
        await pilot.press("h")
        await on_screen(pilot, ImportsScreen)
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 1)
        cells = [str(cell) for cell in table.get_row_at(0)]
        # The 3 ready rows went to the service; the 2 with errors never left the app, and the
        # import counts them all the same.
        assert cells[1:] == [
            "learners.csv",
            "3",
            "0",
            "2",
            "3 sent",
            "0",
            "Inclusive Hiring",
            ENTERPRISE,
            "committed",
            "3",
            "admin@demo.roster.invalid",
        ]
        assert text_of(pilot, "#import-detail").splitlines() == [
            f"Inclusive Hiring · {ENTERPRISE} · by admin@demo.roster.invalid",
            "3 invited · 2 with errors · 0 skipped — committed, 3 rows sent",
        ]

        await pilot.press("s")  # its rows not invited, saved again
        await on_screen(pilot, SaveAs)
        field = app.screen.query_one("#save-path", Input)
        field.value = str(tmp_path / "left-out.csv")
        await pilot.press("enter")
        await until(pilot, (tmp_path / "left-out.csv").exists)
        await on_screen(pilot, ImportsScreen)
        with (tmp_path / "left-out.csv").open(encoding="utf-8-sig", newline="") as file:
            saved = list(csv.reader(file))
        assert [row[1] for row in saved[1:]] == ["no.name@example.org", "ANN.LEE@example.org"]
        assert saved[2][3].startswith("Row 5: ")

        await pilot.press("enter")  # its invitations
        await on_screen(pilot, InvitationsScreen)
        invitations = app.screen.query_one(InvitationTable)
        await until(pilot, lambda: invitations.total == 3)
        assert str(app.screen.sub_title).startswith("Import ")
        await pilot.press("escape")
        await on_screen(pilot, ImportsScreen)


async def test_a_bulk_resend_on_marked_invitations_shows_its_progress_and_ends_with_the_count(
    app: RosterApp, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(BulkProgress, "batch_size", 2)  # 3 marked: two batches
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        await pilot.press("v")
        await on_screen(pilot, InvitationsScreen)
        screen = app.screen
        table = screen.query_one(InvitationTable)
        screen.query_one("#status", Select).value = "pending"
        await until(pilot, lambda: table.current is not None and table.current.status == "pending")
        table.focus()
        await pilot.press("space", "space", "space")
        marked = ",".join(map(str, sorted(table.marked)))
        await pilot.press("s")
        await on_screen(pilot, ConfirmAction)
        await pilot.click("#scope-1")  # the 3 marked
        await on_screen(pilot, BulkProgress)
        dialog = app.screen
        assert isinstance(dialog, BulkProgress)
        bar = dialog.query_one(ProgressBar)
        await until(pilot, lambda: dialog.finished)
        assert (bar.progress, bar.total) == (3, 3)
        assert text_of(pilot, "#bulk-phase") == "Done."
        assert text_of(pilot, "#bulk-counts") == "3 of 3 invitations resent."
        assert emails(data_dir, marked) == 3  # a new email each
        await pilot.press("enter")  # Close
        await on_screen(pilot, InvitationsScreen)
        await until(pilot, lambda: not table.marked)
        assert "marked" not in text_of(pilot, "#invitation-total")


async def seats_left(app: RosterApp, program: str, contract: str) -> int | None:
    """Seats left on the contract, as the contract picker shows them to the admin."""
    client = await app.client()
    (found,) = (await client.programs(q=program)).items
    contracts = (await client.contracts(found.id)).items
    return next(item.seats_left for item in contracts if item.name == contract)


async def test_revoking_every_pending_invitation_of_a_filter_frees_their_seats(
    app: RosterApp, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches of 3 through a filter each batch leaves (pending ones, revoked): none is missed."""
    monkeypatch.setattr(BulkProgress, "batch_size", 3)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot)
        assert await seats_left(app, "Data Literacy", "Pilot - 30 seats") == 2  # nearly full
        await pilot.press("v")
        await on_screen(pilot, InvitationsScreen)
        screen = app.screen
        table = screen.query_one(InvitationTable)
        client = await app.client()
        (data_literacy,) = (await client.programs(q="Data Literacy")).items
        await until(pilot, lambda: screen.query_one("#program", Select).is_mounted)
        await app.workers.wait_for_complete()  # the filters' choices
        screen.query_one("#program", Select).value = data_literacy.id
        screen.query_one("#status", Select).value = "pending"
        await until(pilot, lambda: table.total == 8)
        await pilot.press("x")
        await on_screen(pilot, ConfirmAction)
        labels = [str(button.label) for button in app.screen.query(Button)]
        await pilot.click(f"#scope-{labels.index('All 8 in this filter')}")
        await on_screen(pilot, BulkProgress)
        dialog = app.screen
        assert isinstance(dialog, BulkProgress)
        await until(pilot, lambda: dialog.finished)
        assert text_of(pilot, "#bulk-counts") == "8 of 8 invitations revoked."
        await pilot.press("enter")
        await on_screen(pilot, InvitationsScreen)
        await until(pilot, lambda: table.total == 0)
        assert await seats_left(app, "Data Literacy", "Pilot - 30 seats") == 10


async def test_escape_stops_a_bulk_action_after_the_batch_in_flight(
    app: RosterApp, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped, it reports what it did, and that is what the database holds."""
    monkeypatch.setattr(BulkProgress, "batch_size", 1)
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        await pilot.press("v")
        await on_screen(pilot, InvitationsScreen)
        screen = app.screen
        table = screen.query_one(InvitationTable)
        screen.query_one("#status", Select).value = "pending"
        (pending,) = stored(data_dir, "SELECT count(*) FROM invitations WHERE status='pending'")[0]
        await until(pilot, lambda: table.total == pending)
        await pilot.press("x")
        await on_screen(pilot, ConfirmAction)
        # Another writer holds the database: the first batch waits for it, in flight.
        other = sqlite3.connect(data_dir / "roster.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            await pilot.click("#scope-1")  # all in this filter
            await on_screen(pilot, BulkProgress)
            dialog = app.screen
            assert isinstance(dialog, BulkProgress)
            await pilot.press("escape")
            assert text_of(pilot, "#bulk-phase") == "Stopping after the batch in flight…"
        finally:
            other.execute("ROLLBACK")
            other.close()
        await until(pilot, lambda: dialog.finished)
        assert text_of(pilot, "#bulk-phase") == "Stopped after the batch in flight."
        assert text_of(pilot, "#bulk-counts") == (
            f"1 of 1 invitation revoked. {pending - 1} invitations not reached: left as they were."
        )
        assert stored(data_dir, "SELECT count(*) FROM invitations WHERE status='revoked'") == [(1,)]


async def test_back_from_an_import_s_invitations_the_history_stays_on_that_import(
    app: RosterApp, data_dir: Path, tmp_path: Path
) -> None:
    import subprocess
    import sys

    for name in ("first.csv", "second.csv"):
        path = learner_file(tmp_path, f"Ann Lee,ann.{name[:-4]}@example.org,", name=name)
        options = ["--program", "Inclusive Hiring", "--contract", ENTERPRISE, "--yes", "--no-send"]
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "tui",
                "--data-dir",
                str(data_dir),
                "import",
                str(path),
                *options,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot)
        await pilot.press("h")
        await on_screen(pilot, ImportsScreen)
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 2)
        table.focus()
        await pilot.press("down")  # the older import, first.csv
        await until(pilot, lambda: "first.csv" in str(table.get_row_at(table.cursor_row)[1]))
        await pilot.press("enter")
        await on_screen(pilot, InvitationsScreen)
        await pilot.press("escape")
        await on_screen(pilot, ImportsScreen)
        await pilot.pause()
        await until(pilot, lambda: table.row_count == 2)
        assert "first.csv" in str(table.get_row_at(table.cursor_row)[1])
