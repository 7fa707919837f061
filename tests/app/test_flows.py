"""Each entry point to the completion dialog, asserting what reached the service and the outbox."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest
from textual.widgets import Button, Input, Select

from tests.app.conftest import (
    ENTERPRISE,
    ROWS,
    choose,
    complete,
    connected,
    invitations,
    learner_file,
    on_screen,
    outbox,
    text_of,
    to_preview,
    type_text,
    until,
    upload,
)
from tui.app import RosterApp
from tui.screens.help import HelpScreen
from tui.screens.home import AdminHome
from tui.screens.invite_learner import InvitationSent, InviteLearnerScreen
from tui.screens.pickers import ChooseContract, ChooseProgram
from tui.screens.preview import ConfirmCommit, PreviewScreen
from tui.screens.programs import ProgramsScreen
from tui.screens.progress import CompletionDialog
from tui.screens.save_as import SaveAs
from tui.screens.upload import BrowseFiles, LearnerFileTree, UploadScreen
from tui.screens.users import InviteMenu, UsersScreen
from tui.widgets.preview_table import PreviewTable

pytestmark = pytest.mark.anyio


async def test_admin_home_to_completion_sends_the_invitations(
    app: RosterApp, data_dir: Path, tmp_path: Path
) -> None:
    path = learner_file(tmp_path, *ROWS)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot)
        await pilot.press("i")
        await choose(pilot, ChooseProgram, "inclusive")
        await choose(pilot, ChooseContract, "enterprise")
        await upload(pilot, path, quoted=True)
        await on_screen(pilot, PreviewScreen)
        summary = text_of(pilot, "#summary")
        assert f"Program: Inclusive Hiring    Contract: {ENTERPRISE}" in summary
        assert "5 rows uploaded · 3 ready · 2 with errors · 0 skipped" in summary
        assert (
            str(app.screen.query_one("#commit", Button).label) == "Send invitations to 3 learners"
        )
        text = await complete(pilot)
        assert "3 invitations created." in text
        assert "3 invitation emails sent." in text
        assert "Rows: 3 invited · 2 with errors · 0 skipped." in text
        written = (
            f"The rows not invited, each with the reason, are in {tmp_path / 'learners-errors.csv'}"
        )
        await until(pilot, lambda: written in text_of(pilot, "#completion-text"))
        await pilot.press("enter")
        await on_screen(pilot, AdminHome)
    assert invitations(data_dir, "Inclusive Hiring") == [
        ("ann.lee@example.org", "pending", "sent"),
        ("bob.ray@example.org", "pending", "sent"),
        ("cy.young@example.org", "pending", "sent"),
    ]
    assert len(outbox(data_dir)) == 3
    with (tmp_path / "learners-errors.csv").open(encoding="utf-8-sig", newline="") as errors:
        exported = list(csv.reader(errors))
    assert exported[0] == ["Full Name", "Email", "External ID", "Error"]
    assert [row[1] for row in exported[1:]] == ["no.name@example.org", "ANN.LEE@example.org"]


async def test_users_bulk_with_the_box_unticked_creates_without_emails(
    app: RosterApp, data_dir: Path, tmp_path: Path
) -> None:
    path = learner_file(tmp_path, "Ann Lee,ann.lee@example.org,", "Bob Ray,bob.ray@example.org,")
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot)
        await pilot.press("u")
        await on_screen(pilot, UsersScreen)
        await pilot.press("i")
        await on_screen(pilot, InviteMenu)
        await pilot.click("#bulk")
        await choose(pilot, ChooseProgram, "python")
        await choose(pilot, ChooseContract, "enterprise")
        await upload(pilot, path)
        await on_screen(pilot, PreviewScreen)
        await pilot.press("m")
        label = str(app.screen.query_one("#commit", Button).label)
        assert label == "Create invitations for 2 learners"
        text = await complete(pilot)
        assert "2 invitations created." in text
        assert "No emails were sent" in text
        await pilot.press("escape")
        await on_screen(pilot, UsersScreen)
    assert invitations(data_dir, "Python for Analysts")[:1] == [
        ("ann.lee@example.org", "pending", "created")
    ]
    assert outbox(data_dir) == []


async def test_program_invite_skips_the_program_step_and_returns_to_programs(
    app: RosterApp, data_dir: Path, tmp_path: Path
) -> None:
    path = learner_file(
        tmp_path, "Ann Lee,ann.lee@example.org,", "Amara Okafor,amara.okafor@example.com,"
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot)
        await pilot.press("p")
        await until(
            pilot, lambda: isinstance(app.screen, ProgramsScreen) and bool(app.screen.programs)
        )
        assert isinstance(app.screen, ProgramsScreen)
        programs = [program.name for program in app.screen.programs]
        await pilot.press(*["down"] * programs.index("Leadership Essentials"), "i")
        await choose(pilot, ChooseContract, "enterprise")
        await upload(pilot, path)
        await on_screen(pilot, PreviewScreen)
        assert "1 skipped" in text_of(pilot, "#summary")  # Amara is already a member
        text = await complete(pilot)
        assert "1 row skipped (1 already a member)" in text
        await pilot.press("enter")
        await on_screen(pilot, ProgramsScreen)
    emails = [email for email, *_ in invitations(data_dir, "Leadership Essentials")]
    assert emails.count("ann.lee@example.org") == 1
    assert emails.count("amara.okafor@example.com") == 1


async def test_a_file_error_is_a_screen_that_says_what_to_fix(
    app: RosterApp, tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    path.write_text("Name;Mail\nAnn Lee;ann@example.org\n")
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot)
        await pilot.press("i")
        await choose(pilot, ChooseProgram, "inclusive")
        await choose(pilot, ChooseContract, "enterprise")
        await upload(pilot, tmp_path / "missing.csv")
        assert "There is no file at" in text_of(pilot, "#path-error")
        app.screen.query_one("#path", Input).value = ""
        await upload(pilot, path)
        await on_screen(pilot, PreviewScreen)
        error = text_of(pilot, "#file-error")
        assert "This file cannot be imported" in error
        assert "All 3 headers are required" in error
        assert not app.screen.query(PreviewTable)
        await pilot.press("escape")
        await on_screen(pilot, UploadScreen)


async def test_edit_in_place_rechecks_the_row(app: RosterApp, tmp_path: Path) -> None:
    path = learner_file(tmp_path, *ROWS)
    async with app.run_test(size=(120, 40)) as pilot:
        await to_preview(pilot, path)
        preview = app.screen
        assert isinstance(preview, PreviewScreen)
        await pilot.press("s")
        await on_screen(pilot, SaveAs)
        exported = tmp_path / "learners-errors.csv"
        assert pilot.app.screen.query_one("#save-path", Input).value == str(exported)
        await pilot.press("enter")
        await until(pilot, exported.exists)
        with exported.open(encoding="utf-8-sig", newline="") as errors:
            rows = list(csv.reader(errors))
        assert rows[0] == ["Full Name", "Email", "External ID", "Error"]
        assert [row[3].split(":")[0] for row in rows[1:]] == ["Row 3", "Row 5"]
        await pilot.press("n")  # row 3: no name
        row = preview.query_one(PreviewTable).current_row
        assert row is not None and row["row"] == 3
        await pilot.press("e")
        await until(pilot, lambda: pilot.app.screen is not preview)
        await type_text(pilot, "Nora Name")
        await pilot.press("enter")
        await until(pilot, lambda: preview.report.ready == 4)
        assert "4 ready" in text_of(pilot, "#summary")
        assert str(preview.query_one("#commit", Button).label) == "Send invitations to 4 learners"
        await pilot.press("n")  # row 5: the duplicate of row 2
        row = preview.query_one(PreviewTable).current_row
        assert row is not None
        assert (row["row"], row["issue"]) == (5, "Same learner as row 2")
        await pilot.press("e")
        await until(pilot, lambda: pilot.app.screen is not preview)
        email = pilot.app.screen.query_one("#email", Input)
        assert email.has_focus
        email.value = "ann.again@example.org"
        await pilot.press("enter")
        await until(pilot, lambda: preview.report.ready == 5)
        await pilot.press("f")
        assert "Showing rows with issues (0)" in text_of(pilot, "#filter")  # none left


async def test_invite_learner_shows_the_error_then_invites(app: RosterApp, data_dir: Path) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot)
        await pilot.press("u")
        await on_screen(pilot, UsersScreen)
        await pilot.press("i")
        await on_screen(pilot, InviteMenu)
        await pilot.click("#single")
        await on_screen(pilot, InviteLearnerScreen)
        form = app.screen
        assert isinstance(form, InviteLearnerScreen)
        await until(pilot, lambda: form.query_one("#full_name", Input).has_focus)
        await type_text(pilot, "Zoe Walker")
        await until(pilot, lambda: bool(form.programs))
        form.query_one("#program", Select).value = next(
            id_ for id_, program in form.programs.items() if program.name == "Inclusive Hiring"
        )
        await until(pilot, lambda: bool(form.contracts))
        form.query_one("#contract", Select).value = next(iter(form.contracts))
        email = form.query_one("#email", Input)
        email.focus()
        await type_text(pilot, "zoe.walker@example")
        await pilot.press("enter")
        await until(pilot, lambda: "✗" in text_of(pilot, "#email-error"))
        assert "It should have a period" in text_of(pilot, "#email-error")
        assert email.has_focus
        email.value = "zoe.walker@gmial.com"  # the warning a file's row would get
        await pilot.press("enter")
        await until(pilot, lambda: "gmail.com" in text_of(pilot, "#form-error"))
        assert "Press enter again to invite anyway" in text_of(pilot, "#form-error")
        assert invitations(data_dir, "Inclusive Hiring") == []  # nothing sent yet
        await pilot.press("enter")  # the admin means it
        await on_screen(pilot, InvitationSent)
        text = text_of(pilot, "#invitation-text")
        assert "Zoe Walker <zoe.walker@gmial.com> is invited to Inclusive Hiring" in text
        assert "The invitation email was sent." in text
        assert "import" not in text.lower()  # one invitation, not an import of one row
        await pilot.press("enter")
        await on_screen(pilot, UsersScreen)
    assert invitations(data_dir, "Inclusive Hiring") == [
        ("zoe.walker@gmial.com", "pending", "sent")
    ]
    assert len(outbox(data_dir)) == 1


async def test_the_cursor_row_stays_on_screen_at_80_by_24(app: RosterApp, tmp_path: Path) -> None:
    rows = [f"Learner {index},learner{index}@example.org," for index in range(60)]
    rows[41] = "Wide 张伟张伟张伟张伟张伟张伟,bad-address,"  # an issue far down
    path = learner_file(tmp_path, *rows)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_preview(pilot, path)
        await pilot.press("n")  # the first issue: row 43
        await pilot.pause()
        assert "bad-address" in app.export_screenshot()
        await pilot.press("end")
        await pilot.pause()
        assert "learner59@example.org" in app.export_screenshot()


async def test_not_enough_seats_keeps_the_rows_to_leave_some_out(
    app: RosterApp, tmp_path: Path
) -> None:
    path = learner_file(tmp_path, *(f"New {n},new{n}@example.org," for n in range(4)))
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot)
        await pilot.press("i")
        await choose(pilot, ChooseProgram, "leadership")
        await choose(pilot, ChooseContract, "pilot")  # 2 seats left
        await upload(pilot, path)
        await on_screen(pilot, PreviewScreen)
        preview = app.screen
        assert isinstance(preview, PreviewScreen)
        assert "has 2 seats left" in text_of(pilot, "#service-error")
        assert preview.query_one(PreviewTable).frame.height == 4
        assert preview.query_one("#commit", Button).disabled
        # Rows 2 and 3 left out: they stay on screen, and take no seat.
        await pilot.press("d")
        await until(pilot, lambda: preview.report.ready == 3)
        await pilot.press("down", "d")
        await until(pilot, lambda: preview.report.ready == 2)
        assert preview.query_one(PreviewTable).frame.height == 4
        assert not preview.query_one("#service-error").display
        assert str(preview.query_one("#commit", Button).label) == "Send invitations to 2 learners"
        text = await complete(pilot)
        assert "2 invitations created." in text
        assert "2 left out" in text


async def test_a_large_commit_asks_first_naming_count_program_and_contract(
    app: RosterApp, tmp_path: Path
) -> None:
    path = learner_file(tmp_path, *(f"P {n},p{n}@example.org," for n in range(1_001)))
    async with app.run_test(size=(120, 40)) as pilot:
        await to_preview(pilot, path)
        await pilot.press("i")
        await on_screen(pilot, ConfirmCommit)
        question = text_of(pilot, "#question")
        assert "1,001 learners" in question
        assert "Inclusive Hiring" in question and ENTERPRISE in question
        await pilot.press("escape")
        await on_screen(pilot, PreviewScreen)
        assert invitations(app.settings.data_dir, "Inclusive Hiring") == []
        await pilot.press("i")
        await on_screen(pilot, ConfirmCommit)
        await pilot.press("enter")
        await on_screen(pilot, CompletionDialog, timeout=60)
        assert len(invitations(app.settings.data_dir, "Inclusive Hiring")) == 1_001


async def test_question_mark_lists_every_key_of_the_screen_and_escape_closes_it(
    app: RosterApp, tmp_path: Path
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await to_preview(pilot, learner_file(tmp_path, *ROWS))
        await pilot.press("question_mark")
        await on_screen(pilot, HelpScreen)
        await pilot.pause()
        shown = app.export_screenshot().replace("&#160;", " ")
        for description in ("Invite", "Leave out", "Previous issue", "Edit row", "Admin home"):
            assert description in shown
        await pilot.press("escape")
        await on_screen(pilot, PreviewScreen)


async def test_the_file_browser_goes_up_and_finds_a_name_by_typing(
    app: RosterApp, tmp_path: Path
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    path = learner_file(folder, *ROWS, name="zeta-learners.csv")
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        await pilot.press("i")
        await choose(pilot, ChooseProgram, "inclusive")
        await choose(pilot, ChooseContract, "enterprise")
        await on_screen(pilot, UploadScreen)
        app.screen.query_one("#path", Input).value = str(folder / "nothing-yet")
        await pilot.press("ctrl+o")
        await on_screen(pilot, BrowseFiles)
        tree = app.screen.query_one(LearnerFileTree)
        await until(pilot, lambda: tree.last_line > 0)
        await pilot.press("backspace")  # up from exports/ to the test's folder
        await until(pilot, lambda: Path(tree.path) == tmp_path and tree.last_line > 0)
        await pilot.press("e", "x")  # finds exports/
        await until(
            pilot, lambda: tree.cursor_node is not None and str(tree.cursor_node.label) == "exports"
        )
        await pilot.press("enter")  # opens it
        await until(pilot, lambda: tree.last_line > 1)
        await pilot.pause(BrowseFiles.FIND_PAUSE)
        await pilot.press("z")  # finds zeta-learners.csv
        await until(
            pilot, lambda: tree.cursor_node is not None and str(tree.cursor_node.label) == path.name
        )
        await pilot.press("enter")
        await on_screen(pilot, PreviewScreen)


async def test_the_users_list_reaches_every_learner(app: RosterApp) -> None:
    from textual.widgets import DataTable

    from tui.api.importer import Choices, run_import

    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot)
        client = await app.client()
        program = next(p for p in (await client.programs()).items if p.name == "Inclusive Hiring")
        contract = next(
            c for c in (await client.contracts(program.id)).items if c.seats_total is None
        )
        count = 250
        rows = pl.DataFrame(
            {
                "row": range(2, count + 2),
                "full_name": [f"Zed Learner {n:03}" for n in range(count)],
                "email": [f"zed{n}@example.org" for n in range(count)],
                "external_id": [None] * count,
            },
            schema={
                "row": pl.UInt32,
                "full_name": pl.String,
                "email": pl.String,
                "external_id": pl.String,
            },
        )
        await run_import(
            client,
            rows,
            program_id=program.id,
            contract_id=contract.id,
            choices=Choices(send_emails=False),
            file_name="zeds.csv",
        )
        await pilot.press("u")
        await on_screen(pilot, UsersScreen)
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 200)
        assert "280 learners (200 loaded" in text_of(pilot, "#total")
        for _ in range(10):  # page down towards the end: the rest loads on the way
            await pilot.press("pagedown")
        await until(pilot, lambda: table.row_count == 280)
        assert text_of(pilot, "#total") == "280 learners"


async def test_save_as_suggests_a_free_name_and_replaces_only_on_a_second_enter(
    app: RosterApp, tmp_path: Path
) -> None:
    path = learner_file(tmp_path, *ROWS)
    earlier = tmp_path / "learners-errors.csv"
    earlier.write_text("kept")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_preview(pilot, path)
        await pilot.press("s")
        await on_screen(pilot, SaveAs)
        field = pilot.app.screen.query_one("#save-path", Input)
        assert field.value == str(tmp_path / "learners-errors-2.csv")  # never over a file
        field.value = str(earlier)
        await pilot.press("enter")
        await until(pilot, lambda: "already exists" in text_of(pilot, "#save-problem"))
        assert earlier.read_text() == "kept"
        await pilot.press("enter")  # yes, replace it
        await until(pilot, lambda: earlier.read_text(encoding="utf-8-sig").startswith("Full"))
        await on_screen(pilot, PreviewScreen)

        await pilot.press("escape")  # back to Upload: the template, saved where the admin says
        await on_screen(pilot, UploadScreen)
        await pilot.press("ctrl+t")
        await on_screen(pilot, SaveAs)
        field = pilot.app.screen.query_one("#save-path", Input)
        assert field.value == str(tmp_path / "learners-2.csv")  # learners.csv is the upload
        field.value = str(tmp_path)
        await pilot.press("enter")
        assert "is a folder" in text_of(pilot, "#save-problem")
        field.value = str(tmp_path / "no-such-folder" / "t.csv")
        await pilot.press("enter")
        assert "There is no folder" in text_of(pilot, "#save-problem")
        field.value = str(tmp_path / "template.csv")
        await pilot.press("enter")
        await until(pilot, (tmp_path / "template.csv").exists)
        assert (tmp_path / "template.csv").read_bytes() == b"Full Name,Email,External ID\r\n"
