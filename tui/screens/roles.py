"""What a screen offers by the admin's role: a viewer only reads, so a screen hides the keys of
its actions that change something and disables their buttons, saying why. A manager's screens
need nothing of this: the service shows them only their programs."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.screen import Screen
from textual.widgets import Button

from tui.screens.services import services
from tui.widgets.buttons import relabel

# What a viewer is told where an action would be: beside a disabled button, under a table.
READ_ONLY = "read only"


class OffersByRole(Screen[Any]):
    """Mixed into a screen whose actions `WRITES` change something, offered by the buttons
    `WRITE_BUTTONS` (selectors) too."""

    WRITES: ClassVar[frozenset[str]] = frozenset()
    WRITE_BUTTONS: ClassVar[tuple[str, ...]] = ()

    def read_only(self) -> bool:
        return services(self).read_only

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.WRITES and self.read_only():
            return False  # the key is hidden: it cannot run for this admin
        return super().check_action(action, parameters)

    def offer_by_role(self) -> None:
        """Once connected (after a worker has its client): a viewer's write buttons disabled,
        saying why, and their keys hidden."""
        if not self.read_only():
            return
        for selector in self.WRITE_BUTTONS:
            for button in self.query(selector).results(Button):
                if not button.disabled:
                    button.disabled = True
                    relabel(button, f"{button.label} ({READ_ONLY})")
        self.refresh_bindings()
