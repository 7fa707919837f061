"""Learning programs: each program with its learners and pending invitations; Invite learners,
and its Members (`m`)."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Header, Label

from tui.screens.members import MembersScreen
from tui.screens.messages import StartBulkFlow
from tui.screens.reloading import ReloadsWhenShown
from tui.screens.roles import OffersByRole
from tui.screens.services import services
from tui.screens.worker_errors import ForwardsWorkerErrors, never_hangs
from tui.wire import models as wire


class ProgramsScreen(OffersByRole, ReloadsWhenShown, ForwardsWorkerErrors, Screen[None]):
    TITLE = "Learning programs"
    WRITES = frozenset({"invite"})
    WRITE_BUTTONS = ("#invite",)
    AUTO_FOCUS = "#programs"
    BINDINGS = [
        Binding("i", "invite", "Invite learners"),
        Binding("m", "members", "Members", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.programs: list[wire.Program] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("Learning programs", classes="title")
        yield DataTable(id="programs", cursor_type="row", zebra_stripes=True)
        yield Button("Invite learners", id="invite", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Program", "Learners", "Pending invitations", "Description")
        self.reload()

    @work(exclusive=True, exit_on_error=False)
    @never_hangs
    async def reload(self) -> None:
        client = await services(self).client()
        self.offer_by_role()
        self.programs = (await client.programs()).items
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        for program in self.programs:
            table.add_row(
                Text(program.name, end=""),
                f"{program.learners:,}",
                f"{program.pending:,}",
                Text(program.description, end=""),
                key=str(program.id),
            )
        table.move_cursor(row=min(cursor, max(len(self.programs) - 1, 0)))
        table.focus()

    @on(Button.Pressed, "#invite")
    @on(DataTable.RowSelected)
    def action_invite(self) -> None:
        table = self.query_one(DataTable)
        if self.read_only():  # Enter on a program: a viewer has nothing to start
            return
        if self.programs and 0 <= table.cursor_row < len(self.programs):
            self.post_message(StartBulkFlow(self.programs[table.cursor_row]))

    def action_members(self) -> None:
        """The highlighted program's members: listed, searched and removed."""
        table = self.query_one(DataTable)
        if self.programs and 0 <= table.cursor_row < len(self.programs):
            self.app.push_screen(MembersScreen(self.programs[table.cursor_row]))
