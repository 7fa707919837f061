"""`?`: every key of the screen underneath, hidden ones included, then the app's own."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Label, Static


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
    ]

    def __init__(self, screen: Screen[object]) -> None:
        super().__init__()
        self.keys = Table.grid(padding=(0, 2))
        self.keys.add_column(style="bold", no_wrap=True)
        self.keys.add_column()
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.description or binding.description in seen:
                continue
            seen.add(binding.description)
            key = self.app.get_key_display(binding)
            self.keys.add_row(key, binding.description + ("" if active.enabled else " (not now)"))
        self.where = screen.title or type(screen).__name__

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="help"):
            yield Label(f"Keys: {self.where}", classes="title")
            with VerticalScroll():
                yield Static(self.keys)
            yield Label("escape closes this; ctrl+p finds any command by name.", classes="hint")
        yield Footer()
