"""The app's pages (Textual modes): a page opened for the first time is styled as the app
stands, without the whole stylesheet parsed again; a theme chosen later reaches every page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.color import Color
from textual.pilot import Pilot

from tests.app.conftest import connected, on_screen, until
from tui.app import RosterApp
from tui.screens.home import AdminHome
from tui.screens.imports import ImportsScreen
from tui.screens.programs import ProgramsScreen
from tui.screens.users import UsersScreen

pytestmark = pytest.mark.anyio

PAGES = (
    ("u", UsersScreen),
    ("p", ProgramsScreen),
    ("h", ImportsScreen),
    ("a", AdminHome),
)


def counting_reparses(app: RosterApp, monkeypatch: pytest.MonkeyPatch) -> list[None]:
    """A list that grows each time the app's stylesheet is parsed again as a whole."""
    reparses: list[None] = []
    reparse: Callable[[], Any] = app.stylesheet.reparse

    def counted() -> None:
        reparses.append(None)
        reparse()

    monkeypatch.setattr(app.stylesheet, "reparse", counted)
    return reparses


def background(pilot: Pilot[None]) -> Color:
    return pilot.app.screen.styles.background


async def show(pilot: Pilot[None], key: str, page: type) -> None:
    """Open a page by its key, as the admin does, and wait until it is on screen."""
    await pilot.press(key)
    await on_screen(pilot, page)


async def test_a_page_first_shown_parses_no_stylesheet_again(
    app: RosterApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each was 26-49 ms of a 2-core machine with the keyboard waiting, twice per new page.
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot)
        home = background(pilot)
        reparses = counting_reparses(app, monkeypatch)
        for key, page in PAGES:
            await show(pilot, key, page)
            assert background(pilot) == home, page.__name__
        assert reparses == []


async def test_a_theme_chosen_later_reaches_the_pages_shown_before_and_the_new_ones(
    app: RosterApp,
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot)
        await show(pilot, "u", UsersScreen)
        await show(pilot, "a", AdminHome)
        app.theme = "textual-light"
        theme = app.get_theme("textual-light")
        assert theme is not None and theme.background
        light = Color.parse(theme.background)
        await until(pilot, lambda: background(pilot) == light)
        for key, page in (("u", UsersScreen), ("p", ProgramsScreen)):  # shown before; new
            await show(pilot, key, page)
            assert background(pilot) == light, page.__name__
