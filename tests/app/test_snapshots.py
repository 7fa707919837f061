"""What the admin sees, screen by screen: SVG snapshots at a fixed size and theme.

Review a changed snapshot before accepting it (`pytest --snapshot-update`, then look at the SVG).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, OptionList, Select, Static

from tests.app.conftest import (
    choose,
    complete,
    connected,
    learner_file,
    on_screen,
    roster,
    to_preview,
    until,
)
from tests.mailing import MailServer, Recorder
from tui.api.importer import Choices
from tui.app import RosterApp
from tui.screens.home import AdminHome
from tui.screens.imports import ImportsScreen
from tui.screens.invitations import InvitationsScreen
from tui.screens.invite_learner import InviteLearnerScreen
from tui.screens.pickers import ChooseContract, ChooseProgram
from tui.screens.preview import PreviewScreen
from tui.screens.programs import ProgramsScreen
from tui.screens.progress import CompletionDialog, ImportProgress
from tui.screens.upload import UploadScreen
from tui.screens.users import UsersScreen
from tui.service.db import pin_clock
from tui.settings import Settings
from tui.widgets.invitation_table import InvitationTable
from tui.widgets.searchable_list import SearchableList
from tui.wire import models as wire

SIZE = (120, 40)
SMALL = (80, 24)
Compare = Callable[..., bool]
ROWS = (
    "Ann Lee,ann.lee@example.org,A-1",
    ",no.name@example.org,",
    "Bob Ray,bob.ray@gmial.com,",
    "Ann Again,ANN.LEE@example.org,A-2",
    "Cy Young,cy.young@example.org,=1+2",
    "Amara Okafor,amara.okafor@example.com,",
    "Dee Ray,dee.ray@example,",
)
CLEAN = ("Ann Lee,ann.lee@example.org,A-1", "Bob Ray,bob.ray@example.org,")


def steps(
    *actions: Callable[[Pilot[None]], Awaitable[None]],
) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run(pilot: Pilot[None]) -> None:
        await connected(pilot)
        await settled(pilot)
        for action in actions:
            await action(pilot)
            await settled(pilot)
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False  # a steady cursor: the picture cannot catch it mid-blink
        await pilot.pause()

    return run


async def settled(pilot: Pilot[None]) -> None:
    """Every worker done (a screen's load, a reload behind a dialog) and the result drawn."""
    await asyncio.wait_for(pilot.app.workers.wait_for_complete(), timeout=30)
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


def at(screen: type, *keys: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run(pilot: Pilot[None]) -> None:
        await pilot.press(*keys)
        await on_screen(pilot, screen)

    return run


def previewed(path: Path) -> Callable[[Pilot[None]], Awaitable[None]]:
    """The preview of `path` for Leadership Essentials."""

    async def run(pilot: Pilot[None]) -> None:
        await to_preview(pilot, path, program="leadership")

    return run


def keys(*pressed: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run(pilot: Pilot[None]) -> None:
        await pilot.press(*pressed)

    return run


def test_admin_home(snap_compare: Compare, app: RosterApp) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=steps(at(AdminHome)))


def test_users(snap_compare: Compare, app: RosterApp) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=steps(at(UsersScreen, "u")))


def test_learning_programs(snap_compare: Compare, app: RosterApp) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=steps(at(ProgramsScreen, "p")))


def test_admin_home_light_theme(snap_compare: Compare, app: RosterApp) -> None:
    async def light(pilot: Pilot[None]) -> None:
        pilot.app.theme = "textual-light"

    assert snap_compare(app, terminal_size=SIZE, run_before=steps(at(AdminHome), light))


def test_program_picker_filtered(snap_compare: Compare, app: RosterApp) -> None:
    async def filtered(pilot: Pilot[None]) -> None:
        await pilot.press("i")
        await until(pilot, lambda: bool(getattr(pilot.app.screen, "choices", None)))
        await pilot.press(*"data")
        listed = pilot.app.screen.query_one(SearchableList)
        await until(
            pilot, lambda: getattr(listed.highlighted, "name", "") == "Data Literacy for Everyone"
        )

    assert snap_compare(app, terminal_size=SIZE, run_before=steps(filtered))


def test_contract_picker_filtered(snap_compare: Compare, app: RosterApp) -> None:
    async def filtered(pilot: Pilot[None]) -> None:
        await pilot.press("i")
        await choose(pilot, ChooseProgram, "leadership")
        await until(
            pilot,
            lambda: isinstance(pilot.app.screen, ChooseContract) and bool(pilot.app.screen.choices),
        )
        await pilot.press(*"exp")
        listed = pilot.app.screen.query_one(SearchableList)
        options = listed.query_one(OptionList)
        await until(pilot, lambda: options.option_count == 2)  # both unavailable

    assert snap_compare(app, terminal_size=SIZE, run_before=steps(filtered))


def test_upload(snap_compare: Compare, app: RosterApp, tmp_path: Path) -> None:
    async def to_upload(pilot: Pilot[None]) -> None:
        await pilot.press("i")
        await choose(pilot, ChooseProgram, "leadership")
        await choose(pilot, ChooseContract, "enterprise")
        await on_screen(pilot, UploadScreen)
        await pilot.press(*"/nowhere/learners.csv", "enter")

    assert snap_compare(app, terminal_size=SIZE, run_before=steps(to_upload))


def test_preview_with_issues(snap_compare: Compare, app: RosterApp, tmp_path: Path) -> None:
    path = learner_file(tmp_path, *ROWS)
    assert snap_compare(app, terminal_size=SIZE, run_before=steps(previewed(path), keys("n")))


def test_preview_issues_only(snap_compare: Compare, app: RosterApp, tmp_path: Path) -> None:
    path = learner_file(tmp_path, *ROWS)
    assert snap_compare(app, terminal_size=SIZE, run_before=steps(previewed(path), keys("f")))


def test_preview_with_a_row_left_out(snap_compare: Compare, app: RosterApp, tmp_path: Path) -> None:
    """Row 5 (row 2's learner again) left out with d: it stays, struck through and marked."""
    path = learner_file(tmp_path, *ROWS)

    async def left_out(pilot: Pilot[None]) -> None:
        await pilot.press("down", "down", "down", "d")
        await until(
            pilot, lambda: "left out" in str(pilot.app.screen.query_one("#summary").render())
        )
        pilot.app.clear_notifications()  # the toast saying so goes after a while

    assert snap_compare(app, terminal_size=SIZE, run_before=steps(previewed(path), left_out))


def test_preview_box_unticked(snap_compare: Compare, app: RosterApp, tmp_path: Path) -> None:
    path = learner_file(tmp_path, *CLEAN)
    assert snap_compare(app, terminal_size=SIZE, run_before=steps(previewed(path), keys("m")))


def test_preview_at_80_by_24(snap_compare: Compare, app: RosterApp, tmp_path: Path) -> None:
    path = learner_file(tmp_path, *ROWS)
    assert snap_compare(app, terminal_size=(80, 24), run_before=steps(previewed(path)))


def test_file_error(snap_compare: Compare, app: RosterApp, tmp_path: Path) -> None:
    path = tmp_path / "learners.csv"
    path.write_text("Full Name;Email\nAnn Lee;ann@example.org\n")
    assert snap_compare(app, terminal_size=SIZE, run_before=steps(previewed(path)))


def test_progress(
    snap_compare: Compare, app: RosterApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = learner_file(tmp_path, *CLEAN)

    def hold_still() -> None:
        """In place of the import: the dialog stays where the test puts it."""

    async def halfway(pilot: Pilot[None]) -> None:
        preview = pilot.app.screen
        assert isinstance(preview, PreviewScreen)
        progress = ImportProgress(
            preview.program, preview.contract, preview.learner_file, Choices()
        )
        monkeypatch.setattr(progress, "run_import", hold_still)
        await pilot.app.push_screen(progress)
        progress._progress("Uploading rows", 5_000, 12_000)

    assert snap_compare(app, terminal_size=SIZE, run_before=steps(previewed(path), halfway))


def test_progress_writing_invitations(
    snap_compare: Compare, app: RosterApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit's phase as the service tells it: counts, and the time left at the rate the
    count moved (12,000 rows in the second between the two answers)."""
    from tui.api.commit_progress import PhaseClock

    path = learner_file(tmp_path, *CLEAN)

    def hold_still() -> None:
        """In place of the import: the dialog stays where the test puts it."""

    async def writing(pilot: Pilot[None]) -> None:
        preview = pilot.app.screen
        assert isinstance(preview, PreviewScreen)
        progress = ImportProgress(
            preview.program, preview.contract, preview.learner_file, Choices()
        )
        monkeypatch.setattr(progress, "run_import", hold_still)
        seconds = iter([0.0, 1.0])
        progress.clock = PhaseClock(clock=lambda: next(seconds))
        await pilot.app.push_screen(progress)
        progress._committing(987_193)
        for done in (400_000, 412_000):
            progress.commit_heard(
                wire.CommitProgress(phase="invitations", done=done, total=987_193)
            )

    assert snap_compare(app, terminal_size=SIZE, run_before=steps(previewed(path), writing))


@pytest.mark.parametrize("key", ["i", "m i"])
def test_completion(snap_compare: Compare, app: RosterApp, tmp_path: Path, key: str) -> None:
    path = learner_file(tmp_path, *CLEAN)

    async def commit(pilot: Pilot[None]) -> None:
        await pilot.press(*key.split())
        await on_screen(pilot, CompletionDialog, timeout=30)

    assert snap_compare(app, terminal_size=SIZE, run_before=steps(previewed(path), commit))


def fill_invite_learner() -> Callable[[Pilot[None]], Awaitable[None]]:
    async def fill(pilot: Pilot[None]) -> None:
        await pilot.press("u")
        await on_screen(pilot, UsersScreen)
        await pilot.press("i")
        await pilot.click("#single")
        await on_screen(pilot, InviteLearnerScreen)
        form = pilot.app.screen
        assert isinstance(form, InviteLearnerScreen)
        await until(pilot, lambda: bool(form.programs))
        form.query_one("#full_name", Input).value = "Zoe Walker"
        form.query_one("#email", Input).value = "zoe.walker@example"
        form.query_one("#email", Input).focus()
        await pilot.press("enter")
        error = form.query_one("#program-error", Static)
        await until(pilot, lambda: "program" in str(error.render()))

    return fill


@pytest.mark.parametrize("size", [SIZE, SMALL], ids=["120x40", "80x24"])
def test_invite_learner_with_an_error(
    snap_compare: Compare, app: RosterApp, size: tuple[int, int]
) -> None:
    assert snap_compare(app, terminal_size=size, run_before=steps(fill_invite_learner()))


# At 80x24 every dialog shows what it is for: several choices with their details, the fields and
# the buttons (compact, below 30 lines).
def test_program_picker_at_80_by_24(snap_compare: Compare, app: RosterApp) -> None:
    async def open_picker(pilot: Pilot[None]) -> None:
        await pilot.press("i")
        await until(pilot, lambda: bool(getattr(pilot.app.screen, "choices", None)))

    assert snap_compare(app, terminal_size=SMALL, run_before=steps(open_picker))


def test_contract_picker_at_80_by_24(snap_compare: Compare, app: RosterApp) -> None:
    async def open_picker(pilot: Pilot[None]) -> None:
        await pilot.press("i")
        await choose(pilot, ChooseProgram, "leadership")
        await until(
            pilot,
            lambda: isinstance(pilot.app.screen, ChooseContract) and bool(pilot.app.screen.choices),
        )

    assert snap_compare(app, terminal_size=SMALL, run_before=steps(open_picker))


def test_edit_row_at_80_by_24(snap_compare: Compare, app: RosterApp, tmp_path: Path) -> None:
    path = learner_file(tmp_path, *ROWS)
    assert snap_compare(app, terminal_size=SMALL, run_before=steps(previewed(path), keys("n", "e")))


def test_help_at_80_by_24(snap_compare: Compare, app: RosterApp, tmp_path: Path) -> None:
    path = learner_file(tmp_path, *ROWS)
    assert snap_compare(
        app, terminal_size=SMALL, run_before=steps(previewed(path), keys("n", "question_mark"))
    )


# The pages after the send show dates: the service's clock is pinned to these moments (UTC, and
# the app shows them in UTC), so the pictures are the same every day.
DEMO_SEEDED = datetime(2026, 3, 2, 9, 0)  # the demo's pending invitations expire on April 1
FIRST_IMPORT = datetime(2026, 4, 7, 14, 5)
ANN_ACCEPTS = datetime(2026, 4, 8, 8, 30)
SECOND_IMPORT = datetime(2026, 4, 9, 10, 40)
PAGES_SEEN = datetime(2026, 4, 9, 11, 0)
FIRST_FILE = (
    "Ann Lee,ann.lee@example.org,A-1",
    "Bob Ray,bob.ray@example.org,",
    "Cy Young,cy.young@bounce.example.org,",
    "Dee Ray,dee.ray@example.org,",
    ",no.name@example.org,",
)
SECOND_FILE = (
    "Eve Stone,eve.stone@example.org,E-7",
    "Finn Hale,finn.hale@example.org,",
    "Bob Ray,bob.ray@example.org,",
)


@pytest.fixture
def utc_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The service's clock held at DEMO_SEEDED (the steps move it on), local time UTC."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    pin_clock(DEMO_SEEDED)
    yield
    pin_clock(None)
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    """Accepts every address but those at bounce.example.org, which it refuses for good."""
    refuse = lambda address: (  # noqa: E731
        "550 5.1.1 <{}>: mailbox unavailable".format(address.strip("<>"))
        if "@bounce." in address
        else None
    )
    server = MailServer(Recorder(refuse=refuse)).start()
    yield server
    server.stop()


@pytest.fixture
def after_the_send(tmp_path: Path, utc_clock: None, mail_server: MailServer) -> RosterApp:
    return RosterApp(Settings(data_dir=tmp_path / "data", mail_url=mail_server.url))


async def to_python_preview(pilot: Pilot[None], path: Path) -> None:
    """The preview of `path` for Python for Analysts, whose demo invitations expired unanswered."""
    await pilot.press("i")
    await choose(pilot, ChooseProgram, "python")
    await choose(pilot, ChooseContract, "enterprise")
    await on_screen(pilot, UploadScreen)
    pilot.app.screen.query_one(Input).value = str(path)  # as pasted: no key for each character
    await pilot.press("enter")
    await on_screen(pilot, PreviewScreen)


def two_imports(folder: Path, mail: MailServer) -> Callable[[Pilot[None]], Awaitable[None]]:
    """Two imports to Python for Analysts through the app, a learner who accepts, a revoke.

    The first sends its emails (one address is refused: failed, with the server's reply) and
    leaves a row with an error out; the second creates its invitations without emails and skips
    a learner already invited. Ann accepts through her email's link; Dee's invitation is revoked.
    """

    async def run(pilot: Pilot[None]) -> None:
        pin_clock(FIRST_IMPORT)
        await to_python_preview(pilot, learner_file(folder, *FIRST_FILE))
        await complete(pilot)
        await pilot.press("enter")

        pin_clock(ANN_ACCEPTS)
        client = await roster(pilot).client()
        (email,) = [
            m.parsed() for m in mail.handler.received if "ann.lee@example.org" in m.recipients
        ]
        body = email.get_body(preferencelist=("plain",))
        assert body is not None
        token = re.search(r"/invitations/(\S+)", body.get_content())  # a line of its own
        assert token is not None
        async with httpx.AsyncClient() as learner:
            accepted = await learner.post(f"{client.base_url}/invitations/{token[1]}/accept")
            accepted.raise_for_status()

        pin_clock(SECOND_IMPORT)
        second = learner_file(folder, *SECOND_FILE, name="new-hires.csv")
        await to_python_preview(pilot, second)
        await pilot.press("m")  # create the invitations, no emails
        await complete(pilot)
        await pilot.press("enter")
        dee = (await client.invitations(q="dee.ray", limit=1)).items[0]
        await client.revoke(dee.id)
        pin_clock(PAGES_SEEN)

    return run


async def python_invitations(pilot: Pilot[None]) -> None:
    """The Invitations page, filtered to the program of the two imports, on the failed email."""
    await pilot.press("v")
    await on_screen(pilot, InvitationsScreen)
    await settled(pilot)  # the filters' choices too
    client = await roster(pilot).client()
    (python,) = (await client.programs(q="Python for Analysts")).items
    screen = pilot.app.screen
    screen.query_one("#program", Select).value = python.id
    table = screen.query_one(InvitationTable)
    await until(pilot, lambda: table.total == 12)
    while table.current is not None and table.current.email_status != "failed":
        await pilot.press("down")


async def imports_page(pilot: Pilot[None]) -> None:
    await pilot.press("h")
    await on_screen(pilot, ImportsScreen)
    table = pilot.app.screen.query_one(DataTable)
    await until(pilot, lambda: table.row_count == 2)


@pytest.mark.parametrize("size", [SIZE, SMALL], ids=["120x40", "80x24"])
def test_invitations_after_the_send(
    snap_compare: Compare,
    after_the_send: RosterApp,
    mail_server: MailServer,
    tmp_path: Path,
    size: tuple[int, int],
) -> None:
    seeded = two_imports(tmp_path, mail_server)
    assert snap_compare(
        after_the_send, terminal_size=size, run_before=steps(seeded, python_invitations)
    )


@pytest.mark.parametrize("size", [SIZE, SMALL], ids=["120x40", "80x24"])
def test_imports_after_the_send(
    snap_compare: Compare,
    after_the_send: RosterApp,
    mail_server: MailServer,
    tmp_path: Path,
    size: tuple[int, int],
) -> None:
    seeded = two_imports(tmp_path, mail_server)
    assert snap_compare(after_the_send, terminal_size=size, run_before=steps(seeded, imports_page))
