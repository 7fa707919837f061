"""Users: searchable learners with their invitations; + Invite Learners opens the two ways in."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Footer, Header, Input, Label

from tui.api import models as wire
from tui.screens.reloading import ReloadsWhenShown
from tui.screens.roster_app import roster_app
from tui.screens.worker_errors import ForwardsWorkerErrors
from tui.text import plural

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


PAGE = 200  # learners fetched at a time


class UsersScreen(ReloadsWhenShown, ForwardsWorkerErrors, Screen[None]):
    TITLE = "Users"
    AUTO_RELOAD = False  # a reload would reset the table's cursor
    AUTO_FOCUS = "#learners"
    BINDINGS = [
        Binding("i", "invite", "+ Invite Learners"),
        Binding("slash", "search", "Search"),
        Binding("escape", "leave_search", "Leave search", show=False),
    ]

    searched = ""  # the search the table shows
    total = 0  # learners the search finds

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="users-bar"):
            yield Input(placeholder="Search learners by name, email or External ID  (/)",
                        id="search")  # fmt: skip
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
    async def reload(self, delay: float = 0.0) -> None:
        import asyncio

        if delay:
            await asyncio.sleep(delay)  # wait for the admin to stop typing
        client = await roster_app(self).client()
        self.searched = self.query_one("#search", Input).value.strip()
        page = await client.learners(q=self.searched, limit=PAGE)
        table = self.query_one(DataTable)
        table.clear()
        self._add(page)
        if not self.query_one("#search", Input).has_focus:
            table.focus()

    @on(DataTable.RowHighlighted, "#learners")
    def _near_the_end(self, event: DataTable.RowHighlighted) -> None:
        """Every learner can be reached: the next page loads as the cursor nears the last."""
        table = self.query_one(DataTable)
        if event.cursor_row >= table.row_count - PAGE // 4 and table.row_count < self.total:
            self.load_more(table.row_count)

    @work(exclusive=True, group="more", exit_on_error=False)
    async def load_more(self, offset: int) -> None:
        client = await roster_app(self).client()
        page = await client.learners(q=self.searched, offset=offset, limit=PAGE)
        if self.query_one(DataTable).row_count == offset:  # no reload came in between
            self._add(page)

    def _add(self, page: wire.Page[wire.Learner]) -> None:
        table = self.query_one(DataTable)
        for learner in page.items:
            invitations = ", ".join(f"{p.program_name} ({p.status})" for p in learner.programs)
            table.add_row(learner.full_name, learner.email, learner.external_id or "",
                          invitations, key=str(learner.id))  # fmt: skip
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
                roster_app(self).start_bulk_flow()
            elif choice == "single":
                roster_app(self).start_single_invite()

        self.app.push_screen(InviteMenu(), chosen)
