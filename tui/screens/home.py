"""Admin home: usage overview (learners, invitations, seats per contract), Invite learners."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Header, Label, LoadingIndicator, Static

from tui.screens.messages import StartBulkFlow
from tui.screens.offline import ShowsServiceState
from tui.screens.reloading import ReloadsWhenShown
from tui.screens.roles import OffersByRole
from tui.screens.services import services
from tui.screens.worker_errors import ForwardsWorkerErrors, never_hangs
from tui.text import plural
from tui.widgets.footer import Footer

if TYPE_CHECKING:
    from tui.wire import models as wire

BAR_WIDTH = 20


# Seats come from contracts, which an operator adds: an organization without one says so.
NO_CONTRACTS = (
    "No contracts yet, so no seats to invite into: an operator adds one with "
    "roster admin create-contract."
)


def seats_bar(contract: wire.Contract) -> Text:
    """`███████░░░ 28 of 30 seats used`, or the count alone when seats are unlimited."""
    text = Text()
    if contract.seats_total:
        filled = round(BAR_WIDTH * min(contract.seats_used / contract.seats_total, 1))
        style = (
            "red" if contract.seats_left == 0 else "yellow" if filled > BAR_WIDTH * 0.8 else "green"
        )
        text.append("█" * filled, style=style)
        text.append("░" * (BAR_WIDTH - filled), style="dim")
        text.append(f" {contract.seats_used:,} of {plural(contract.seats_total, 'seat')} used")
    else:
        text.append("∞".ljust(BAR_WIDTH), style="green")
        text.append(f" {contract.seats_used:,} used (unlimited)")
    if not contract.available and contract.unavailable_reason:
        text.append(f"  ({contract.unavailable_reason})", style="italic dim")
    return text


class AdminHome(
    OffersByRole, ReloadsWhenShown, ShowsServiceState, ForwardsWorkerErrors, Screen[None]
):
    TITLE = "Admin home"
    WRITES = frozenset({"invite"})
    WRITE_BUTTONS = ("#invite",)
    AUTO_FOCUS = "#invite"
    BINDINGS = [Binding("i", "invite", "Invite learners")]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="home"):
            yield Label("Usage overview", classes="title")
            yield LoadingIndicator()
            with Horizontal(id="stats"):
                for key, label in (
                    ("learners", "Learners"),
                    ("pending", "Pending"),
                    ("accepted", "Accepted"),
                    ("programs", "Programs"),
                ):
                    with Vertical(classes="stat"):
                        yield Label("–", id=f"stat-{key}", classes="stat-value")
                        yield Label(label, classes="stat-label")
            yield Label("Seats per contract", classes="subtitle")
            yield Vertical(id="contracts")
            yield Button("Invite learners", id="invite", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self.reload()

    @work(exclusive=True, exit_on_error=False)
    @never_hangs
    async def reload(self) -> None:
        client = await services(self).client()
        self.offer_by_role()
        usage = await client.usage()
        self.query_one(LoadingIndicator).display = False
        for key, value in (
            ("learners", usage.learners),
            ("pending", usage.pending_invitations),
            ("accepted", usage.accepted_invitations),
            ("programs", usage.programs),
        ):
            self.query_one(f"#stat-{key}", Label).update(f"{value:,}")
        contracts = self.query_one("#contracts", Vertical)
        if not usage.contracts:
            if not contracts.query("#no-contracts"):
                await contracts.remove_children()
                await contracts.mount(Static(NO_CONTRACTS, id="no-contracts"))
            return
        names = [str(label.content) for label in contracts.query(".contract-name").results(Label)]
        if names == [contract.name for contract in usage.contracts]:
            # The same contracts: update their bars in place, so a reload never flickers.
            bars = contracts.query(".contract-bar").results(Static)
            for bar, contract in zip(bars, usage.contracts, strict=True):
                bar.update(seats_bar(contract))
            return
        await contracts.remove_children()
        await contracts.mount_all(
            Horizontal(
                Label(contract.name, classes="contract-name", markup=False),
                Static(seats_bar(contract), classes="contract-bar"),
                classes="contract",
            )
            for contract in usage.contracts
        )

    @on(Button.Pressed, "#invite")
    def action_invite(self) -> None:
        self.post_message(StartBulkFlow())
