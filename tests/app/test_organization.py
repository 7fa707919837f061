"""The Organization page (o): an owner edits, archives and restores a contract and changes the
invitation policy, each refusal shown in its dialog; a viewer reads the page and changes
nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Label

from tests.app.conftest import connected, on_screen, text_of, type_text, until
from tests.app.test_markup_is_text import MARKUP_LIKE, table_text
from tests.app.test_roles import sign_in_as_viewer
from tui.app import RosterApp
from tui.screens.organization import (
    ArchiveContract,
    EditContract,
    EditPolicy,
    OrganizationScreen,
)
from tui.service import admin as operator
from tui.service.db import Organization, open_database
from tui.service.runtime import ensure_demo, keep_embedded_token
from tui.settings import Settings
from tui.wire import models as wire

pytestmark = pytest.mark.anyio
PILOT = "Pilot - 30 seats"  # the demo's: 28 of its 30 seats in use


async def organization(pilot: Pilot[None]) -> OrganizationScreen:
    """The Organization page, its contracts and policy loaded."""
    await connected(pilot)
    await pilot.press("o")
    await until(
        pilot,
        lambda: isinstance(pilot.app.screen, OrganizationScreen) and bool(pilot.app.screen.policy),
    )
    screen = pilot.app.screen
    assert isinstance(screen, OrganizationScreen)
    return screen


def shown(screen: OrganizationScreen, name: str) -> list[str]:
    """The table's row of the contract `name`, as text ([] when it is not listed)."""
    table = screen.query_one(DataTable)
    ids = [str(contract.id) for contract in screen.contracts if contract.name == name]
    return [str(cell) for cell in table.get_row(ids[0])] if ids else []


async def test_an_owner_edits_archives_and_restores_a_contract(app: RosterApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await organization(pilot)
        await until(pilot, lambda: screen.owner)
        names = [contract.name for contract in screen.contracts]
        await pilot.press(*["down"] * names.index(PILOT), "e")
        await on_screen(pilot, EditContract)
        await pilot.press("tab")  # the seats, selected: typing replaces them
        await type_text(pilot, "10")
        await pilot.press("enter")
        await until(pilot, lambda: "28 seats in use" in text_of(pilot, "#form-error"))
        assert isinstance(app.screen, EditContract)  # still open, on the seats
        await type_text(pilot, "40")
        await pilot.press("enter")
        await on_screen(pilot, OrganizationScreen)
        await until(pilot, lambda: shown(screen, PILOT)[1:3] == ["28 / 40", "available"])

        await pilot.press("x")
        await on_screen(pilot, ArchiveContract)
        question = text_of(pilot, "#archive-question")
        assert "pending invitations stay valid" in question and "r to restore" in question
        await pilot.click("#archive")
        await on_screen(pilot, OrganizationScreen)
        await until(pilot, lambda: not shown(screen, PILOT))
        await pilot.press("s")  # the archived ones too
        await until(pilot, lambda: shown(screen, PILOT)[2:3] == ["archived"])
        archived = [contract.name for contract in screen.contracts].index(PILOT)
        await pilot.press(*["down"] * archived, "r")
        await until(pilot, lambda: shown(screen, PILOT)[2:3] == ["available"])


async def test_an_owner_changes_the_invitation_policy(app: RosterApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await organization(pilot)
        assert text_of(pilot, "#policy") == "Invitations live 30 days; no automatic reminder."
        await until(pilot, lambda: screen.owner)
        await pilot.press("l")
        await on_screen(pilot, EditPolicy)
        await pilot.press("tab")
        await type_text(pilot, "30")  # not before the invitation expires
        await pilot.press("enter")
        await until(pilot, lambda: "Remind after 1 to 29 days" in text_of(pilot, "#form-error"))
        assert isinstance(app.screen, EditPolicy)
        await pilot.press("backspace", "backspace", "7", "enter")
        await on_screen(pilot, OrganizationScreen)
        await until(
            pilot,
            lambda: (
                text_of(pilot, "#policy")
                == "Invitations live 30 days; a reminder goes 7 days after the email."
            ),
        )
        assert (await (await app.client()).policy()).remind_after_days == 7


async def test_a_viewer_reads_the_page_and_is_offered_no_change(
    app: RosterApp, data_dir: Path
) -> None:
    sign_in_as_viewer(data_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await organization(pilot)
        assert shown(screen, PILOT)[1] == "28 / 30"
        button = screen.query_one("#change-policy", Button)
        await until(pilot, lambda: button.disabled)
        assert str(button.label) == "Change (l) (read only)"
        assert not {"e", "x", "l"} & set(app.active_bindings)
        assert app.active_bindings["r"].binding.action == "reload"  # no restore
        await pilot.press("e", "l")
        assert app.screen is screen  # no dialog


async def test_a_contract_s_name_is_shown_as_text(app: RosterApp) -> None:
    name = " ".join(MARKUP_LIKE)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await organization(pilot)
        client = await app.client()
        (pilot_contract,) = [c for c in screen.contracts if c.name == PILOT]
        await client.edit_contract(pilot_contract.id, wire.ContractChange(name=name))
        await pilot.press("r")
        await until(pilot, lambda: name in [contract.name for contract in screen.contracts])
        await until(pilot, lambda: screen.owner)
        await pilot.press(*["down"] * [c.name for c in screen.contracts].index(name))
        assert name[:30] in table_text(pilot, "#contracts-table")
        assert text_of(pilot, "#contract-detail").startswith(f"{name}: available")
        await pilot.press("x")
        await on_screen(pilot, ArchiveContract)
        assert str(app.screen.query_one(".title", Label).render()) == f"Archive {name}?"


def sign_in_as_manager(data_dir: Path, program: str) -> None:
    """The embedded service's token file holds the token of a manager of `program`."""
    data_dir.mkdir(parents=True)
    sessions = open_database(Settings(data_dir=data_dir).resolved_database_url())
    ensure_demo(sessions, data_dir)
    with sessions.begin() as session:
        demo = session.query(Organization).filter(Organization.is_demo).one()
        managed = operator.find_program(session, demo.id, program)
        _, token = operator.create_admin(session, demo, "max@demo.example", "manager", [managed])
    sessions.kw["bind"].dispose()
    keep_embedded_token(data_dir, token)


async def test_a_manager_reads_their_programs_contracts_and_changes_nothing(
    app: RosterApp, data_dir: Path
) -> None:
    sign_in_as_manager(data_dir, "Cybersecurity Awareness 2026")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await organization(pilot)
        button = screen.query_one("#change-policy", Button)
        await until(pilot, lambda: button.disabled)
        assert str(button.label) == "Change (owners only)"
        assert PILOT not in [contract.name for contract in screen.contracts]  # not theirs
        assert shown(screen, "Spring Cohort 2025 (expired)")[2] == "expired on 2025-06-30"
        assert not {"e", "x", "l"} & set(app.active_bindings)
