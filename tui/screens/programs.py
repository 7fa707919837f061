"""Learning programs: each program with its learners and pending invitations; Invite learners,
its Members (`m`), and Sync with a file (`y`). An owner may also edit a program (e) or archive
it (x): keys the help (?) lists."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Button, DataTable, Header, Label

from tui.api.client import ApiError
from tui.screens.members import MembersScreen
from tui.screens.messages import StartBulkFlow
from tui.screens.offline import ShowsServiceState
from tui.screens.program_change import ArchiveProgram, EditProgram
from tui.screens.reloading import ReloadsWhenShown
from tui.screens.roles import OffersByRole
from tui.screens.services import services
from tui.screens.sync_preview import sync_with_a_file
from tui.screens.worker_errors import ForwardsWorkerErrors, never_hangs
from tui.widgets.footer import Footer
from tui.wire import models as wire


class ProgramsScreen(
    OffersByRole, ReloadsWhenShown, ShowsServiceState, ForwardsWorkerErrors, Screen[None]
):
    TITLE = "Learning programs"
    WRITES = frozenset({"invite", "sync"})
    WRITE_BUTTONS = ("#invite",)
    AUTO_FOCUS = "#programs"
    BINDINGS = [
        Binding("i", "invite", "Invite learners"),
        Binding("m", "members", "Members", show=False),
        Binding("y", "sync", "Sync with a file (match the program to it)", show=False),
        Binding("e", "edit", "Edit program (owners)", show=False),
        Binding("x", "archive", "Archive program (owners)", show=False),
    ]
    owner: reactive[bool] = reactive(False, bindings=True)

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
        """The programs as they are now; the cursor stays on the program it was on (a rename
        re-sorts them), else on the same row."""
        client = await services(self).client()
        self.offer_by_role()
        highlighted = self._highlighted()
        self.programs = (await client.programs()).items
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        for program in self.programs:
            table.add_row(
                Text(program.name, end=""),
                f"{program.learners:,}",
                f"{program.pending:,}",
                Text(program.description, end=""),
                key=str(program.id),
            )
        ids = [program.id for program in self.programs]
        if highlighted is not None and highlighted.id in ids:
            row = ids.index(highlighted.id)
        table.move_cursor(row=min(row, max(len(self.programs) - 1, 0)))
        table.focus()
        self.owner = (await client.me()).role == "owner"  # who may edit and archive (e, x)

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

    def action_sync(self) -> None:
        """Make the highlighted program match a file, previewed as a diff (owners, managers)."""
        program = self._highlighted()
        if program is not None:
            sync_with_a_file(self, program)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("edit", "archive"):
            return self.owner and bool(self.programs)
        return super().check_action(action, parameters)

    def _highlighted(self) -> wire.Program | None:
        row = self.query_one(DataTable).cursor_row
        return self.programs[row] if self.programs and 0 <= row < len(self.programs) else None

    def action_edit(self) -> None:
        program = self._highlighted()
        if program is None:
            return

        def edited(saved: wire.Program | None) -> None:
            if saved is not None:  # the dialog sent the change, and stayed open until it held
                self.notify(f"{saved.name}: saved.", markup=False)
                self.reload()

        self.app.push_screen(EditProgram(program), edited)

    def action_archive(self) -> None:
        program = self._highlighted()
        if program is None:
            return

        def answered(archive: bool | None) -> None:
            if archive:
                self.archive_program(program)

        self.app.push_screen(ArchiveProgram(program), answered)

    @work(exclusive=True, group="change", exit_on_error=False)
    @never_hangs
    async def archive_program(self, program: wire.Program) -> None:
        """Archive the program and show the programs as they are now."""
        client = await services(self).client()
        try:
            await client.archive_program(program.id)
        except ApiError as error:
            self.notify(error.problem.detail, severity="error", markup=False)
            return
        self.notify(f"{program.name}: archived.", markup=False)
        self.reload()
