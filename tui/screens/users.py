"""Users: searchable learners with their invitations; + Invite Learners opens the two ways in."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Header, Input, Label

from tui.screens.messages import StartBulkFlow, StartSingleInvite
from tui.screens.offline import ShowsServiceState
from tui.screens.paging import LoadsAsYouGo
from tui.screens.reloading import ReloadsWhenShown
from tui.screens.roles import OffersByRole
from tui.screens.services import services
from tui.screens.worker_errors import ForwardsWorkerErrors, never_hangs
from tui.text import plural
from tui.widgets.footer import Footer, HelpKeyInput
from tui.wire import models as wire

SEARCH_DELAY = 0.25


class InviteMenu(ModalScreen[str | None]):
    """+ Invite Learners: Send Bulk Invitations or Invite Learner."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Back"),
        Binding("b", "choose('bulk')", "Send Bulk Invitations"),
        Binding("l", "choose('single')", "Invite Learner"),
    ]

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="invite-menu"):
            yield Label("Invite learners", classes="title")
            yield Button("Send Bulk Invitations", id="bulk", variant="primary")
            yield Button("Invite Learner", id="single")
        yield Footer()

    @on(Button.Pressed)
    def _chosen(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id)


class UsersScreen(
    OffersByRole,
    LoadsAsYouGo,
    ReloadsWhenShown,
    ShowsServiceState,
    ForwardsWorkerErrors,
    Screen[None],
):
    TITLE = "Users"
    WRITES = frozenset({"invite"})
    WRITE_BUTTONS = ("#invite",)
    AUTO_RELOAD = False  # a reload would reset the table's cursor
    AUTO_FOCUS = "#learners"
    BINDINGS = [
        Binding("i", "invite", "+ Invite Learners"),
        Binding("slash", "search", "Search"),
        Binding("escape", "leave_search", "Leave search", show=False),
    ]

    searched = ""  # the search the table shows

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="users-bar"):
            yield HelpKeyInput(
                placeholder="Search learners by name, email or External ID  (/)", id="search"
            )
            yield Button("+ Invite Learners", id="invite", variant="primary")
        yield DataTable(id="learners", cursor_type="row", zebra_stripes=True)
        yield Label("", id="total")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Full Name", "Email", "External ID", "Invitations")
        self.reload()

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_leave_search(self) -> None:
        self.query_one(DataTable).focus()

    @on(Input.Changed, "#search")
    def _search(self) -> None:
        self.reload(delay=SEARCH_DELAY)

    @on(Input.Submitted, "#search")
    def _search_done(self) -> None:
        self.query_one(DataTable).focus()

    @work(exclusive=True, group="learners", exit_on_error=False)
    @never_hangs
    async def reload(self, delay: float = 0.0) -> None:
        import asyncio

        if delay:
            await asyncio.sleep(delay)  # wait for the admin to stop typing
        client = await services(self).client()
        self.offer_by_role()
        self.searched = self.query_one("#search", Input).value.strip()
        page = await client.learners(q=self.searched, limit=self.PAGE)
        table = self.query_one(DataTable)
        table.clear()
        self.add(page)
        if not self.query_one("#search", Input).has_focus:
            table.focus()

    async def fetch(self, offset: int) -> wire.Page[wire.Learner]:
        client = await services(self).client()
        return await client.learners(q=self.searched, offset=offset, limit=self.PAGE)

    def add(self, page: wire.Page[Any]) -> None:
        table = self.query_one(DataTable)
        for learner in page.items:
            invitations = ", ".join(f"{p.program_name} ({p.status})" for p in learner.programs)
            table.add_row(
                Text(learner.full_name, end=""),
                Text(learner.email, end=""),
                Text(learner.external_id or "", end=""),
                Text(invitations, end=""),
                key=str(learner.id),
            )
        self.total = page.total
        loaded = table.row_count
        self.query_one("#total", Label).update(
            plural(page.total, "learner")
            + (f" ({loaded:,} loaded; more load as you go down)" if loaded < page.total else "")
        )

    @on(Button.Pressed, "#invite")
    def action_invite(self) -> None:
        def chosen(choice: str | None) -> None:
            if choice == "bulk":
                self.post_message(StartBulkFlow())
            elif choice == "single":
                self.post_message(StartSingleInvite())

        self.app.push_screen(InviteMenu(), chosen)
