"""Buttons and labels show their whole text at 80x24: none is cut to its first line or first
letters."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Label

from tests.app.conftest import connected, learner_file, to_preview, until
from tui.app import RosterApp

pytestmark = pytest.mark.anyio


def shown(pilot: Pilot[None], widget: Widget) -> str:
    """The text the terminal shows in the widget's region, its lines joined by a space."""
    lines = [strip.text for strip in pilot.app.screen._compositor.render_strips()]
    region = widget.region
    parts = (
        line[region.x : region.right].strip(" ▔▁▊▎") for line in lines[region.y : region.bottom]
    )
    return " ".join(part for part in parts if part)


async def test_the_commit_bar_shows_its_whole_labels_at_80_columns(
    app: RosterApp, tmp_path: Path
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await to_preview(pilot, learner_file(tmp_path, "Ann Lee,ann@example.com,"))
        button = app.screen.query_one("#commit", Button)
        box = app.screen.query_one("#send", Checkbox)
        for label in ("Send invitations to 1 learner", "Create invitations for 1 learner"):
            if str(button.label) != label:
                await pilot.press("m")
            await until(pilot, lambda: shown(pilot, button) == str(button.label))
            assert str(button.label) == label
            assert shown(pilot, box).endswith("Send invitations to new members after import")


async def test_admin_home_numbers_show_their_whole_names_at_80_columns(app: RosterApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        await until(pilot, lambda: shown(pilot, app.screen.query_one("#stat-pending")) != "–")
        labels = list(app.screen.query(".stat-label").results(Label))
        assert labels
        # Once laid out (a moment after the numbers arrive), every name shows whole.
        await until(
            pilot, lambda: all(shown(pilot, label) == str(label.content) for label in labels)
        )
