"""Save as: where a file Roster writes goes, chosen by the admin; nothing is replaced unasked."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from tui.widgets.footer import Footer, HelpKeyInput


def clean_path(text: str) -> Path:
    """A path as typed, pasted or dropped: quotes, file:// URLs, `\\ ` escapes, ~ and spaces."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    if text.startswith("file://"):
        text = unquote(urlsplit(text).path)
    elif re.search(r"\\[ ()'&\[\]]", text):
        text = " ".join(shlex.split(text))  # a terminal's escaped drop: My\ File.csv
    return Path(text).expanduser()


class SaveAs(ModalScreen[Path | None]):
    """The path to write, starting from `suggested`; None when the admin cancels.

    A folder, or a folder that does not exist, is refused with what to type instead. An
    existing file is replaced only once the admin has pressed enter a second time on it.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, suggested: Path) -> None:
        super().__init__()
        self.dialog_title = title
        self.suggested = suggested
        self._replace: Path | None = None  # the existing file the admin was warned about

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="save-as"):
            yield Label(self.dialog_title, classes="title")
            yield Static("Save as (enter saves, escape cancels):", classes="hint")
            yield HelpKeyInput(str(self.suggested), id="save-path")
            yield Static("", id="save-problem")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#save-path", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Changed, "#save-path")
    def _typed(self) -> None:
        self._replace = None
        self.query_one("#save-problem", Static).update("")

    @on(Input.Submitted, "#save-path")
    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        problem = self.query_one("#save-problem", Static)
        text = self.query_one("#save-path", Input).value
        if not text.strip():
            problem.update("Type the path of the file to write.")
            return
        path = clean_path(text)
        if path.is_dir():
            problem.update(
                Content(f"{path} is a folder: add a file name, such as {self.suggested.name}.")
            )
            return
        if not path.parent.is_dir():
            problem.update(Content(f"There is no folder {path.parent}. Type a folder that exists."))
            return
        if path.exists() and self._replace != path:
            self._replace = path
            problem.update(
                Content.from_markup(
                    "[b]$name already exists.[/b] Press enter again to replace it, or type "
                    "another name.",
                    name=path.name,
                )
            )
            return
        self.dismiss(path)


def save_template(app: App[Any], folder: Path, saved: Callable[[Path], None] | None = None) -> None:
    """Ask where to save the template (a free name in `folder` to start from), write it, then
    call `saved` with where it went."""
    from tui.intake.template import free_template_path, write_template

    def chosen(path: Path | None) -> None:
        if path is None:
            return
        try:
            write_template(path, overwrite=True)  # the admin chose to replace a file there
        except OSError as error:
            app.notify(
                f"Cannot write the template: {error.strerror}", severity="error", markup=False
            )
            return
        app.notify(f"Saved {path}", title="Template", markup=False)
        if saved is not None:
            saved(path)

    app.push_screen(SaveAs("Save the .csv template", free_template_path(folder)), chosen)
