"""When the service cannot be reached or refuses the token: say where and why; retry or quit."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from tui.widgets.footer import Footer


class ConnectionProblem(ModalScreen[bool]):
    """Dismissed with True to try again, False to quit."""

    DEFAULT_CSS = """
    ConnectionProblem { align: center middle; }
    ConnectionProblem > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: thick $error; background: $surface; padding: 1 2;
    }
    ConnectionProblem #problem-title { text-style: bold; color: $error; }
    ConnectionProblem #problem-detail { margin: 1 0; }
    ConnectionProblem Horizontal { height: auto; align-horizontal: right; }
    ConnectionProblem Button { margin-left: 2; }
    """
    BINDINGS = [
        Binding("r", "retry", "Try again"),
        Binding("q,escape", "quit", "Quit"),
    ]

    def __init__(self, title: str, where: str, detail: str) -> None:
        super().__init__()
        self.problem_title = title
        self.where = where
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.problem_title, id="problem-title")
            yield Static(self.where, id="problem-where", markup=False)
            yield Static(self.detail, id="problem-detail", markup=False)
            with Horizontal():
                yield Button("Try again", id="retry", variant="primary")
                yield Button("Quit", id="quit", variant="error")
        yield Footer()

    @on(Button.Pressed, "#retry")
    def action_retry(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#quit")
    def action_quit(self) -> None:
        self.dismiss(False)
