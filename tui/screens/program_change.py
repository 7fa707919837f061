"""An owner changes a program from the Learning programs page: its name and description
(EditProgram), or archives it (ArchiveProgram: offered nowhere from then on, its history
kept). The Programs page sends what they answer to the service."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Static

from tui.text import plural
from tui.wire import models as wire


class EditProgram(ModalScreen[wire.ProgramChange | None]):
    """The program's name and description, to change; dismissed with the fields changed (None
    when cancelled or nothing changed)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

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
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#program-name", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def _save(self) -> None:
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
        self.dismiss(wire.ProgramChange(**changed) if changed else None)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class ArchiveProgram(ModalScreen[bool]):
    """The question before archiving: what stops, and what stays."""

    BINDINGS = [Binding("escape", "dismiss(False)", "Cancel")]

    def __init__(self, program: wire.Program) -> None:
        super().__init__()
        self.program = program

    def compose(self) -> ComposeResult:
        program = self.program
        with Vertical(classes="dialog", id="archive-program"):
            yield Label(f"Archive {program.name}?", classes="title", markup=False)
            yield Static(
                "It is offered nowhere from now on: not on this page, not in the pickers, no new "
                f"invitations. Its {plural(program.learners, 'learner')} and "
                f"{plural(program.pending, 'pending invitation')} stay, and pending invitations "
                "can still be accepted. `roster admin archive-program --restore` brings it back.",
                id="archive-question",
                markup=False,
            )
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Archive", id="archive", variant="error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed, "#archive")
    def _archive(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(False)
