"""Quitting with emails still queued: they go out only while Roster runs, or with `roster
worker`; stay, or quit anyway."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from tui.text import plural
from tui.widgets.footer import Footer


def after_quit(queued: int) -> str:
    """What becomes of the app's queued emails when it quits, and what sends them then."""
    if queued == 1:
        start, sent, them = "It goes out", "it is sent", "it"
    else:
        start, sent, them = "They go out", "they are sent", "them"
    return (
        f"{start} only while Roster runs. Stay until {sent}, or let `roster worker` send "
        f"{them} after you quit (README: Keeping mail going after you log out)."
    )


class QueuedMailOnQuit(ModalScreen[bool]):
    """Dismissed with True to quit anyway, False to stay."""

    DEFAULT_CSS = """
    QueuedMailOnQuit { align: center middle; }
    QueuedMailOnQuit > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: thick $warning; background: $surface; padding: 1 2;
    }
    QueuedMailOnQuit #queued-title { text-style: bold; }
    QueuedMailOnQuit #queued-detail { margin: 1 0; }
    QueuedMailOnQuit Horizontal { height: auto; align-horizontal: right; }
    QueuedMailOnQuit Button { margin-left: 2; }
    """
    BINDINGS = [
        Binding("escape", "stay", "Stay"),
        Binding("q", "quit_anyway", "Quit anyway"),
    ]

    def __init__(self, queued: int) -> None:
        super().__init__()
        self.queued = queued

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"{plural(self.queued, 'email')} still queued", id="queued-title")
            yield Static(after_quit(self.queued), id="queued-detail", markup=False)
            with Horizontal():
                yield Button("Stay", id="stay", variant="primary")
                yield Button("Quit anyway", id="quit", variant="warning")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()

    @on(Button.Pressed, "#stay")
    def action_stay(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#quit")
    def action_quit_anyway(self) -> None:
        self.dismiss(True)
