"""Home screens never show stale numbers: they reload when shown again and on `r`."""

from __future__ import annotations

import pytest
from textual.widgets import Label, Static

from tests.app.conftest import on_screen, until
from tui.app import RosterApp
from tui.screens.home import AdminHome
from tui.screens.programs import ProgramsScreen
from tui.wire import models as wire

pytestmark = pytest.mark.anyio


def pending_shown(app: RosterApp) -> str:
    return str(app.screen.query_one("#stat-pending", Label).render())


async def invite_one(app: RosterApp, email: str) -> None:
    """Another admin invites a learner, through the service, while the app shows its numbers."""
    client = await app.client()
    program = (await client.programs(q="Inclusive")).items[0]
    contract = next(c for c in (await client.contracts(program.id)).items if c.available)
    await client.invite(
        program.id,
        wire.InviteLearner(
            full_name="New Person", email=email, contract_id=contract.id, send_email=False
        ),
    )


async def test_r_and_coming_back_reload_the_numbers(
    app: RosterApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without its timer, only `r` and coming back can bring the new numbers: the test cannot
    # pass on a reload that would have come by itself.
    monkeypatch.setattr(AdminHome, "AUTO_RELOAD", False)
    async with app.run_test(size=(120, 40)) as pilot:
        await on_screen(pilot, AdminHome)
        await until(pilot, lambda: pending_shown(app) != "–")
        before = int(pending_shown(app))

        await invite_one(app, "new.one@example.org")
        await pilot.press("r")
        await until(pilot, lambda: pending_shown(app) == str(before + 1))

        await invite_one(app, "new.two@example.org")
        await pilot.press("p")
        await on_screen(pilot, ProgramsScreen)
        await pilot.press("a")
        await on_screen(pilot, AdminHome)
        await until(pilot, lambda: pending_shown(app) == str(before + 2))


async def test_an_organization_without_contracts_is_told_where_seats_come_from(
    app: RosterApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(AdminHome, "AUTO_RELOAD", False)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_screen(pilot, AdminHome)
        await until(pilot, lambda: pending_shown(app) != "–")
        client = await app.client()
        for contract in (await client.organization_contracts()).items:
            await client.archive_contract(contract.id)
        await pilot.press("r")
        await until(pilot, lambda: bool(app.screen.query("#no-contracts")))
        said = str(app.screen.query_one("#no-contracts", Static).render())
        assert (
            said == "No contracts yet, so no seats to invite into: an operator adds one with "
            "roster admin create-contract."
        )
        assert not app.screen.query(".contract")  # the archived contracts' bars are gone
