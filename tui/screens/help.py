"""`?`: every key of the screen underneath (hidden ones included), its widget's, the app's."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
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
        # Roster's keys for this screen first, then the highlighted widget's and Textual's,
        # then the app's.
        own = {
            binding.action if isinstance(binding, Binding) else binding[1]
            for cls in type(screen).__mro__
            if cls.__module__.startswith("tui.")
            for binding in vars(cls).get("BINDINGS", [])
        }

        def rank(active: ActiveBinding) -> int:
            if active.node is screen and active.binding.action in own:
                return 0
            return 2 if active.node is screen.app else 1

        bindings = sorted(screen.active_bindings.values(), key=rank)
        for active in bindings:
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
