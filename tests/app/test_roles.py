"""The app offers only what the admin's role may do: a viewer sees no invite, resend, remind
or revoke, and is told why."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Button

from tests.app.conftest import connected, on_screen, roster, text_of, until
from tui.app import RosterApp
from tui.screens.home import AdminHome
from tui.screens.invitations import InvitationsScreen
from tui.screens.members import MembersScreen
from tui.screens.programs import ProgramsScreen
from tui.service import admin as operator
from tui.service.db import Organization, open_database
from tui.service.runtime import ensure_demo, keep_embedded_token
from tui.settings import Settings

pytestmark = pytest.mark.anyio


def sign_in_as_viewer(data_dir: Path) -> None:
    """The embedded service's token file holds a viewer's token of the demo organization."""
    data_dir.mkdir(parents=True)
    sessions = open_database(Settings(data_dir=data_dir).resolved_database_url())
    ensure_demo(sessions, data_dir)
    with sessions.begin() as session:
        demo = session.query(Organization).filter(Organization.is_demo).one()
        _, token = operator.create_admin(session, demo, "vera@demo.example", "viewer")
    sessions.kw["bind"].dispose()
    keep_embedded_token(data_dir, token)


async def test_a_viewer_is_offered_no_invite_and_no_action_on_invitations(
    app: RosterApp, data_dir: Path
) -> None:
    sign_in_as_viewer(data_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        me = roster(pilot).me
        assert me is not None and me.role == "viewer"
        await on_screen(pilot, AdminHome)
        invite = pilot.app.screen.query_one("#invite", Button)
        await until(pilot, lambda: invite.disabled)
        assert str(invite.label) == "Invite learners (read only)"
        assert "i" not in pilot.app.active_bindings
        await pilot.press("i")
        assert isinstance(pilot.app.screen, AdminHome)  # no flow started

        await pilot.press("v")
        await on_screen(pilot, InvitationsScreen)
        await until(pilot, lambda: "a viewer: read only" in text_of(pilot, "#invitation-total"))
        assert not {"s", "m", "x", "space"} & set(pilot.app.active_bindings)

        await pilot.press("p")  # a program's members: read, not marked or removed
        await on_screen(pilot, ProgramsScreen)
        await until(pilot, lambda: bool(getattr(pilot.app.screen, "programs", None)))
        await pilot.press("m")
        await on_screen(pilot, MembersScreen)
        await until(pilot, lambda: "read only" in text_of(pilot, "#members-total"))
        assert "x removes" not in text_of(pilot, "#members-total")
