"""The app's admin token rotated while it runs: said once, on the connection problem screen,
with how to go on; Try again takes the token the data directory keeps now."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable

from tests.app.conftest import connected, on_screen, text_of, until
from tui.app import RosterApp
from tui.screens.connection import ConnectionProblem
from tui.screens.home import AdminHome
from tui.screens.programs import ProgramsScreen
from tui.service.runtime import TOKEN_FILE

pytestmark = pytest.mark.anyio


async def test_a_token_rotated_mid_session_is_said_once_and_try_again_takes_the_new_one(
    app: RosterApp, data_dir: Path
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        client = await app.client()
        rotated = await client.rotate_token()  # the old token opens nothing from now on
        home = app.screen
        assert isinstance(home, AdminHome)
        loading = home.reload()  # two screens' loads refused: Admin home's, and
        await pilot.press("p")  # Learning programs'.
        await on_screen(pilot, ConnectionProblem)
        title = str(app.screen.query_one("#problem-title").render())
        assert title == "This admin token no longer works"
        assert "rotated or removed" in text_of(pilot, "#problem-detail")
        await until(pilot, lambda: loading.is_finished)  # its refusal: not a second notice
        await pilot.pause()
        stack = [type(screen) for screen in app.screen_stack]
        assert stack.count(ConnectionProblem) == 1
        assert not any("Bearer" in note.message for note in app._notifications)

        (data_dir / TOKEN_FILE).write_text(rotated.token + "\n")  # as roster admins rotate does
        await pilot.press("r")
        await until(pilot, lambda: not isinstance(app.screen, ConnectionProblem))
        await pilot.press("p")
        await on_screen(pilot, ProgramsScreen)
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count > 0)
