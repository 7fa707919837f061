"""The two dialogs an owner's changes go through, on Learning programs and Organization alike:
a small form that sends its change itself and stays open with the service's refusal
(`ChangeDialog`), and the question before archiving, saying what stops and what stays
(`ArchiveQuestion`). Names come from admins: they are shown as text, never read as markup."""

from __future__ import annotations

from typing import TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from tui.widgets.footer import Footer

Saved = TypeVar("Saved")


class ChangeDialog(ModalScreen[Saved | None]):
    """A small form that sends its change itself: the service's refusal is shown in
    `#form-error`, and the dialog stays until the change is saved (dismissed with what the
    service answered) or cancelled (dismissed with None). A subclass composes its fields, then
    `yield from self.buttons()`, and implements `save`."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def buttons(self) -> ComposeResult:
        yield Static("", id="form-error")
        with Horizontal(classes="buttons"):
            yield Button("Cancel", id="cancel")
            yield Button("Save", id="save", variant="primary")

    def refuse(self, message: str, field: str | None = None) -> None:
        self.query_one("#form-error", Static).update(Content(f"✗ {message}"))
        if field is not None:  # the field at fault, selected: typing replaces it
            entry = self.query_one(f"#{field}", Input)
            entry.focus()
            entry.select_all()

    def typed(self, field: str) -> str:
        return self.query_one(f"#{field}", Input).value.strip()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        self.save()

    def save(self) -> None:
        raise NotImplementedError


class ArchiveQuestion(ModalScreen[bool]):
    """'Archive NAME?': what stops and what stays, answered True (archive) or False; Cancel
    has the focus."""

    BINDINGS = [Binding("escape", "dismiss(False)", "Cancel")]

    def __init__(self, name: str, question: str) -> None:
        super().__init__()
        self.archived_name = name
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Content(f"Archive {self.archived_name}?"), classes="title")
            yield Static(Content(self.question), id="archive-question")
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
