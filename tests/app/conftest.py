"""The app against the embedded service on a temp data dir, driven with Pilot: the fixtures,
and the steps the app's tests share (choose, upload, to_preview, complete)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widget import Widget

from tui.app import RosterApp
from tui.screens.members import MembersScreen
from tui.screens.pickers import ChooseContract, ChooseProgram
from tui.screens.preview import PreviewScreen
from tui.screens.programs import ProgramsScreen
from tui.screens.progress import CompletionDialog
from tui.screens.upload import UploadScreen
from tui.settings import Settings

HEADER = "Full Name,Email,External ID"
ENTERPRISE = "Enterprise Agreement 2026 (unlimited)"
# A file with two rows in error: row 3 has no name, row 5 is the same learner as row 2.
ROWS = (
    "Ann Lee,ann.lee@example.org,A-1",
    ",no.name@example.org,",
    "Bob Ray,bob.ray@example.org,",
    "Ann Again,ANN.LEE@example.org,A-2",
    "Cy Young,cy.young@example.org,",
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def app(data_dir: Path) -> RosterApp:
    return RosterApp(Settings(data_dir=data_dir))


def learner_file(folder: Path, *rows: str, name: str = "learners.csv") -> Path:
    path = folder / name
    path.write_bytes(("\r\n".join([HEADER, *rows]) + "\r\n").encode("utf-8-sig"))
    return path


async def until(pilot: Pilot[None], ready: Callable[[], bool], timeout: float = 30.0) -> None:
    """Let the app work (workers, the embedded service) until `ready()` holds."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            notes = [note.message for note in pilot.app._notifications]
            raise AssertionError(f"timed out; the screen is {pilot.app.screen!r}, notes {notes}")
        await pilot.pause(0.05)


async def on_screen(pilot: Pilot[None], screen: type, timeout: float = 20.0) -> None:
    """Wait until `screen` is the current screen, mounted, with its first messages handled."""
    await until(
        pilot,
        lambda: isinstance(pilot.app.screen, screen) and pilot.app.screen.is_mounted,
        timeout,
    )
    await pilot.pause()


async def type_text(pilot: Pilot[None], text: str) -> None:
    await pilot.press(*(" " if char == " " else char for char in text))


def roster(pilot: Pilot[None]) -> RosterApp:
    """The app the pilot drives."""
    app = pilot.app
    assert isinstance(app, RosterApp)
    return app


def text_of(pilot: Pilot[None], selector: str) -> str:
    """The text the widget at `selector` shows on the current screen, as the admin reads it."""
    return str(pilot.app.screen.query_one(selector, Widget).render())


async def connected(pilot: Pilot[None]) -> None:
    """Wait until the app has reached the service."""
    await until(pilot, lambda: roster(pilot).me is not None)


async def choose(pilot: Pilot[None], screen: type, search: str) -> None:
    """In the picker `screen`, once its choices are in, type `search` and continue."""
    await until(
        pilot,
        lambda: (
            isinstance(pilot.app.screen, screen)
            and bool(getattr(pilot.app.screen, "choices", None))
        ),
    )
    await type_text(pilot, search)
    await pilot.press("enter")


async def upload(pilot: Pilot[None], path: Path, *, quoted: bool = False) -> None:
    """On Upload, type the path (quoted, as a terminal may paste it) and press enter."""
    await on_screen(pilot, UploadScreen)
    await type_text(pilot, f"'{path}' " if quoted else str(path))
    await pilot.press("enter")


async def to_preview(pilot: Pilot[None], path: Path, program: str = "inclusive") -> None:
    """From Admin home to the preview of `path`: the program found by `program` (Inclusive
    Hiring), the unlimited contract."""
    await connected(pilot)
    await pilot.press("i")
    await choose(pilot, ChooseProgram, program)
    await choose(pilot, ChooseContract, "enterprise")
    await upload(pilot, path)
    await on_screen(pilot, PreviewScreen)


async def complete(pilot: Pilot[None]) -> str:
    """From the preview, invite (i): the completion dialog's text."""
    await on_screen(pilot, PreviewScreen)
    await pilot.press("i")
    await on_screen(pilot, CompletionDialog, timeout=30)
    return text_of(pilot, "#completion-text")


def invitations(data_dir: Path, program: str) -> list[tuple[str, str, str]]:
    """(email, status, email_status) of the program's invitations, from the database."""
    with sqlite3.connect(data_dir / "roster.db") as db:
        return db.execute(
            "SELECT l.email, i.status, i.email_status FROM invitations i "
            "JOIN learners l ON l.id = i.learner_id JOIN programs p ON p.id = i.program_id "
            "WHERE p.name = ? ORDER BY l.email",
            (program,),
        ).fetchall()


def outbox(data_dir: Path) -> list[Path]:
    folder = data_dir / "outbox" / "new"
    return sorted(folder.iterdir()) if folder.exists() else []


async def members_of(pilot: Pilot[None], program: str) -> MembersScreen:
    """The Members page of `program`, from Learning programs (`m`), its members loaded."""
    from textual.widgets import DataTable

    await pilot.press("p")
    await on_screen(pilot, ProgramsScreen)
    programs = pilot.app.screen
    assert isinstance(programs, ProgramsScreen)
    await until(pilot, lambda: bool(programs.programs))
    names = [each.name for each in programs.programs]
    programs.query_one(DataTable).move_cursor(row=names.index(program))
    await pilot.press("m")
    await on_screen(pilot, MembersScreen)
    screen = pilot.app.screen
    assert isinstance(screen, MembersScreen)
    return screen
