"""The Activity page: the audit record, newest first, filtered by action, and the highlighted
entry in full under the table, shown as text whatever it holds."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Select

from tests.app.conftest import connected, on_screen, text_of, until
from tui.app import RosterApp
from tui.screens.activity import ActivityScreen
from tui.wire import models as wire

pytestmark = pytest.mark.anyio


async def test_an_entry_in_full_under_the_table(app: RosterApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        client = await app.client()
        program = (await client.programs()).items[0]
        contract = next(c for c in (await client.contracts(program.id)).items if c.available)
        invited = await client.invite(
            program.id,
            wire.InviteLearner(
                full_name="Mallory Doe",
                email="mallory@example.com",
                contract_id=contract.id,
                send_email=False,
            ),
        )
        await client.revoke(invited.id)
        await pilot.press("t")
        await on_screen(pilot, ActivityScreen)
        table = app.screen.query_one("#activity", DataTable)
        await until(pilot, lambda: table.row_count == 2)
        detail = text_of(pilot, "#activity-detail")
        assert "invitation.revoked" in detail and program.name in detail
        assert "1 learner: mallory@example.com" in detail
        assert f"invitation_id {invited.id}" in detail

        app.screen.query_one("#activity-action", Select).value = "invitation.created"
        await until(pilot, lambda: table.row_count == 1)
        await until(pilot, lambda: "invitation.created" in text_of(pilot, "#activity-detail"))
        assert "1 entry" in text_of(pilot, "#activity-total")
