"""`?` or F1: the keys of the screen underneath (hidden ones included): its own first, then the
app's (the pages, quitting), then Textual's generic ones (scrolling, a table's cursor)."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

from tui.widgets.footer import Footer


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
    ]

    def __init__(self, screen: Screen[object]) -> None:
        super().__init__()
        self.keys = Table.grid(padding=(0, 2))
        self.keys.add_column(style="bold", no_wrap=True)
        self.keys.add_column()
        seen: set[str] = set()
        # Roster's keys for this screen first, then the app's (the pages, quitting); the
        # focused widget's (scrolling, a table's cursor) last.
        own = {
            binding.action if isinstance(binding, Binding) else binding[1]
            for cls in type(screen).__mro__
            if cls.__module__.startswith("tui.")
            for binding in vars(cls).get("BINDINGS", [])
        }

        def rank(active: ActiveBinding) -> int:
            if active.node is screen and active.binding.action in own:
                return 0
            return 1 if active.node is screen.app else 2

        rows: list[list[tuple[str, str]]] = [[], [], []]
        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.description or binding.description in seen:
                continue
            seen.add(binding.description)
            rows[rank(active)].append(
                (
                    self.app.get_key_display(binding),
                    binding.description + ("" if active.enabled else " (not now)"),
                )
            )
        rows[1] = [row for row in rows[1] if row[1] != "Keys"] + [
            ("f1 or ?", "These keys (in a name or a message, ? is text: f1)")
        ]
        for key, description in (*rows[0], *rows[1], *rows[2]):
            self.keys.add_row(key, description)
        self.where = screen.title or type(screen).__name__

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="help"):
            yield Label(f"Keys: {self.where}", classes="title")
            with VerticalScroll():
                yield Static(self.keys)
            yield Label("escape closes this; ctrl+p finds any command by name.", classes="hint")
        yield Footer()
