"""Text from a file, a learner, an admin or the service is shown as it is, never run as the app's
markup: a name like `[/b]` does not end the app, and `[@click=screen.commit]` is no button."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, TextArea

from tests.app.conftest import (
    ENTERPRISE,
    choose,
    connected,
    invitations,
    on_screen,
    text_of,
    until,
    upload,
)
from tui.app import RosterApp
from tui.screens.home import AdminHome
from tui.screens.invitations import InvitationsScreen
from tui.screens.pickers import ChooseContract, ChooseProgram
from tui.screens.preview import EditRow, PreviewScreen, WriteMessage
from tui.screens.progress import CompletionDialog
from tui.screens.upload import UploadScreen
from tui.screens.users import UsersScreen

pytestmark = pytest.mark.anyio

# Each is markup, or close to it, for Textual or Rich; none holds a comma or a quote (CSV).
MARKUP_LIKE = [
    "[/b]",
    "[/]oops",
    "[@click=screen.commit]x[/]",
    "[bold] [link=x] \\[ [ [$accent]y [B] end\\",
]


def rename(data_dir: Path, text: str) -> tuple[str, str]:
    """Inclusive Hiring and the unlimited contract, renamed to hold `text`."""
    program, contract = f"Inclusive Hiring {text}", f"Enterprise {text}"
    with sqlite3.connect(data_dir / "roster.db") as db:
        db.execute("UPDATE programs SET name = ? WHERE name = 'Inclusive Hiring'", (program,))
        db.execute("UPDATE contracts SET name = ? WHERE name = ?", (contract, ENTERPRISE))
    return program, contract


def table_text(pilot: Pilot[None], selector: str) -> str:
    """Every line a DataTable draws, as the admin reads it."""
    table = pilot.app.screen.query_one(selector, DataTable)
    return "\n".join(table.render_line(y).text for y in range(table.size.height))


async def click_along(pilot: Pilot[None], selector: str, text: str) -> None:
    """Click each cell of the widget at `selector` where it shows `text` (its padding is 1)."""
    lines = text_of(pilot, selector).splitlines()
    y = next(y for y, line in enumerate(lines) if text in line)
    start = lines[y].index(text) + 1
    for x in range(start, start + len(text)):
        await pilot.click(selector, offset=(x, y))


@pytest.mark.parametrize("text", MARKUP_LIKE)
async def test_markup_like_text_is_shown_as_text_and_never_acts(
    app: RosterApp, data_dir: Path, tmp_path: Path, text: str
) -> None:
    path = tmp_path / "learners.csv"
    path.write_text(
        f"Full Name,Email,External ID,{text}\n"
        f"Ann {text},ann.lee@example.org,{text}\n"
        f"Bo {text},not an email {text},\n"
        # A stored learner under another name: the warning quotes the file's name.
        f"Amara {text},amara.okafor@example.com,\n",
        encoding="utf-8",
    )
    async with app.run_test(size=(160, 50)) as pilot:
        await connected(pilot)
        program, contract = rename(data_dir, text)
        await pilot.press("i")
        await choose(pilot, ChooseProgram, "inclusive")
        await until(pilot, lambda: isinstance(app.screen, ChooseContract))
        assert program in text_of(pilot, ".hint")
        await choose(pilot, ChooseContract, "enterprise")
        await on_screen(pilot, UploadScreen)
        assert f"Contract: {contract}" in text_of(pilot, ".context")
        await upload(pilot, path)
        await on_screen(pilot, PreviewScreen)

        # The file's header and cells, the program and contract, as they are.
        summary = text_of(pilot, "#summary")
        assert f"Program: {program}" in summary and f"Contract: {contract}" in summary
        warnings = text_of(pilot, "#warnings")
        assert text in warnings
        assert "Row 2: " in text_of(pilot, "#detail")
        await pilot.press("n", "n")
        assert f'the file says "Amara {text}"' in text_of(pilot, "#detail")
        await pilot.press("e")
        await on_screen(pilot, EditRow)
        assert text in text_of(pilot, "EditRow .hint")
        await pilot.press("escape")
        await on_screen(pilot, PreviewScreen)

        # The admin's message.
        await pilot.press("p")
        await on_screen(pilot, WriteMessage)
        app.screen.query_one(TextArea).load_text(text)
        await pilot.press("ctrl+s")
        await on_screen(pilot, PreviewScreen)
        assert f"Message: {text}" in text_of(pilot, "CommitBar #message")

        # Clicking on the text, where the warning and the detail line show it, sends nothing.
        for selector in ("#warnings", "#detail"):
            await click_along(pilot, selector, text)
        await pilot.pause()
        assert isinstance(app.screen, PreviewScreen)
        assert invitations(data_dir, program) == []

        # Invited: the names stored in the service, on every page that shows them.
        await pilot.press("i")
        await on_screen(pilot, CompletionDialog, timeout=30)
        assert "2 invitations created." in text_of(pilot, "#completion-text")
        await pilot.press("enter")
        await on_screen(pilot, AdminHome)
        await until(
            pilot,
            lambda: contract in [str(name.render()) for name in app.screen.query(".contract-name")],
        )

        await pilot.press("u")
        await on_screen(pilot, UsersScreen)
        app.screen.query_one("#search", Input).value = "ann.lee"
        await until(pilot, lambda: f"Ann {text}" in table_text(pilot, "#learners"))

        await pilot.press("v")
        await on_screen(pilot, InvitationsScreen)
        app.screen.query_one("#search", Input).value = "ann.lee"
        shown = f"Ann {text} <ann.lee@example.org> · pending"
        await until(pilot, lambda: shown in text_of(pilot, "#invitation-detail"))
        assert f" · {program} · {contract}\n" in text_of(pilot, "#invitation-detail")
    assert invitations(data_dir, program) == [
        ("amara.okafor@example.com", "pending", "sent"),
        ("ann.lee@example.org", "pending", "sent"),
    ]
