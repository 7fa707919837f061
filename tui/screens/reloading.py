"""Home screens show current numbers: they reload when shown, on `r`, and every few seconds
while shown (another admin, an import in the CLI, or the mail sender changes them)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.screen import Screen


class ReloadsWhenShown(Screen[Any]):
    """Mixed into a home screen that has a `reload()` worker."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("r", "reload", "Reload", show=False)]
    # Off for screens whose reload would move the admin's cursor.
    AUTO_RELOAD: ClassVar[bool] = True
    # How often a shown screen reloads by itself.
    AUTO_RELOAD_SECONDS: ClassVar[float] = 10.0

    def reload(self) -> object:
        raise NotImplementedError

    _shown_before = False

    def on_mount(self) -> None:
        if self.AUTO_RELOAD:
            self.set_interval(self.AUTO_RELOAD_SECONDS, self._reload_if_shown)

    def on_screen_resume(self) -> None:
        # The first showing follows the screen's own load on mount.
        if self._shown_before:
            self.reload()
        self._shown_before = True

    def action_reload(self) -> None:
        self.reload()

    def _reload_if_shown(self) -> None:
        if self.is_current:
            self.reload()
