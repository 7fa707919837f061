"""Home screens never show stale numbers: they reload when shown again and on `r`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from textual.pilot import Pilot
from textual.widgets import Label, Static

from tests.app.conftest import on_screen, until
from tui.app import RosterApp
from tui.screens.home import AdminHome
from tui.screens.programs import ProgramsScreen
from tui.wire import models as wire

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def no_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without its timer, only `r` and coming back can bring new numbers: a test cannot pass
    on a reload that would have come by itself."""
    monkeypatch.setattr(AdminHome, "AUTO_RELOAD", False)


@asynccontextmanager
async def home_with_numbers(app: RosterApp, size: tuple[int, int]) -> AsyncIterator[Pilot[None]]:
    """The app at `size`, on Admin home once its numbers are shown."""
    async with app.run_test(size=size) as pilot:
        await on_screen(pilot, AdminHome)
        await until(pilot, lambda: pending_shown(app) != "–")
        yield pilot


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


async def test_r_and_coming_back_reload_the_numbers(app: RosterApp) -> None:
    async with home_with_numbers(app, (120, 40)) as pilot:
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
    app: RosterApp,
) -> None:
    async with home_with_numbers(app, (80, 24)) as pilot:
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
