"""Choose columns: which of a file's columns holds each learner field, when its headers are
neither the template's nor their aliases (what `roster import --column` says on the command
line)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Select, Static

from tui.intake.fields import LEARNER_FIELDS
from tui.widgets.footer import Footer


class ChooseColumns(ModalScreen[dict[str, str] | None]):
    """A column of the file per field, those Roster found already chosen. Dismissed with the
    choices (field header -> the file's header), or None to leave the file as it is."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, file_name: str, header: tuple[str, ...], found: dict[str, int]) -> None:
        super().__init__()
        self.file_name = file_name
        self.header = header
        self.found = found

    def compose(self) -> ComposeResult:
        options = [(Content(cell), index) for index, cell in enumerate(self.header) if cell]
        with Vertical(classes="dialog", id="choose-columns"):
            yield Label("Which column is which?", classes="title")
            yield Static(
                Content.from_markup(
                    "[b]$file[/b] does not name its columns as the template does. Choose the "
                    "column that holds each field:",
                    file=self.file_name,
                ),
                classes="hint",
            )
            for field in LEARNER_FIELDS:
                yield Label(field.header)
                yield Select[int](
                    options,
                    value=self.found.get(field.header, Select.NULL),
                    prompt="Choose its column",
                    id=f"column-{field.name}",
                )
            yield Static(id="columns-error", classes="hint")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Read the file", id="apply", variant="primary")
        yield Footer()

    @on(Button.Pressed, "#apply")
    def _apply(self) -> None:
        chosen: dict[str, int] = {}
        for field in LEARNER_FIELDS:
            value = self.query_one(f"#column-{field.name}", Select).value
            if value is Select.NULL or not isinstance(value, int):
                self._say(f"Choose the column of {field.header}.")
                return
            other = next((name for name, index in chosen.items() if index == value), None)
            if other is not None:
                self._say(f"{other} and {field.header} cannot share a column.")
                return
            chosen[field.header] = value
        self.dismiss({name: self.header[index] for name, index in chosen.items()})

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    def _say(self, text: str) -> None:
        self.query_one("#columns-error", Static).update(Content(text))
