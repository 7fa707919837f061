"""An owner changes a program from the Learning programs page: its name and description
(EditProgram, which sends the change itself and stays open with the service's refusal, so that
the admin can fix it and save again), or archives it (ArchiveProgram: offered nowhere from then
on, its history kept; the Programs page sends that answer to the service)."""

from __future__ import annotations

import shlex

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label

from tui.api.client import ApiError
from tui.screens.change_dialog import ArchiveQuestion, ChangeDialog
from tui.screens.services import services
from tui.screens.worker_errors import ForwardsWorkerErrors, never_hangs
from tui.text import plural
from tui.widgets.footer import Footer
from tui.wire import models as wire

SPECIAL_IN_DOUBLE_QUOTES = set('"$`\\!')


def restore_command(program: wire.Program) -> str:
    """The command an owner restores the program with, its name quoted for a shell: in double
    quotes where nothing in it is special there, else as `shlex.quote` does."""
    name = program.name
    quoted = f'"{name}"' if not SPECIAL_IN_DOUBLE_QUOTES & set(name) else shlex.quote(name)
    return f"roster programs restore {'-- ' if name.startswith('-') else ''}{quoted}"


class EditProgram(ForwardsWorkerErrors, ChangeDialog[wire.Program]):
    """The program's name and description, to change. Save sends the fields changed: the
    dialog is dismissed with the program as the service keeps it, or stays open saying why the
    service refused (None when cancelled or nothing changed)."""

    def __init__(self, program: wire.Program) -> None:
        super().__init__()
        self.program = program

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="edit-program"):
            yield Label("Edit program", classes="title")
            yield Label("Name")
            yield Input(self.program.name, id="program-name", max_length=200)
            yield Label("Description")
            yield Input(self.program.description, id="program-description", max_length=2000)
            yield from self.buttons()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#program-name", Input).focus()

    def save(self) -> None:
        name = self.query_one("#program-name", Input).value
        description = self.query_one("#program-description", Input).value
        changed = {
            field: value
            for field, value, before in (
                ("name", name, self.program.name),
                ("description", description, self.program.description),
            )
            if value != before
        }
        if not changed:
            self.dismiss(None)
            return
        self.send(wire.ProgramChange(**changed))

    @work(exclusive=True, group="edit-program", exit_on_error=False)
    @never_hangs
    async def send(self, change: wire.ProgramChange) -> None:
        """Send the change: closed with the program as it is now, or open with the refusal
        under the fields, to fix and save again."""
        client = await services(self).client()
        try:
            program = await client.edit_program(self.program.id, change)
        except ApiError as error:
            self.refuse(error.problem.detail)
            return
        self.dismiss(program)


class ArchiveProgram(ArchiveQuestion):
    """The question before archiving a program: what stops, and what stays."""

    def __init__(self, program: wire.Program) -> None:
        super().__init__(
            program.name,
            "It is offered nowhere from now on: not on this page, not in the pickers, no new "
            f"invitations. Its {plural(program.learners, 'learner')} and "
            f"{plural(program.pending, 'pending invitation')} stay, and pending invitations "
            f"can still be accepted. `{restore_command(program)}` brings it back.",
        )
        self.program = program
