"""The second question before destroying many at once (revoking invitations, removing members):
above `LARGE`, choosing "all of them" is not enough; the admin types how many to go on."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from tui.widgets.footer import Footer, HelpKeyInput

LARGE = 1_000  # above this many, the admin types the count


class TypeTheCount(ModalScreen[bool]):
    """'Revoke 200,000 invitations?': answered True once the admin has typed 200000 (or
    200,000) and pressed enter or the button; escape or Cancel answer False."""

    BINDINGS = [Binding("escape", "dismiss(False)", "Cancel")]

    def __init__(self, verb: str, noun: str, count: int) -> None:
        """`verb` names the action as its button does (Revoke); `noun` what it acts on, plural
        (invitations)."""
        super().__init__()
        self.verb = verb
        self.noun = noun
        self.count = count

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="type-the-count"):
            yield Label(Content(f"{self.verb} {self.count:,} {self.noun}?"), classes="title")
            yield Static(
                Content(
                    f"This cannot be undone. To go on, type the count: {self.count}. "
                    "escape cancels."
                )
            )
            yield HelpKeyInput(placeholder=f"{self.count}", id="typed-count")
            yield Static("", id="form-error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(
                    Content(f"{self.verb} {self.count:,}"),
                    id="go-on",
                    variant="error",
                    disabled=True,
                )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#typed-count", Input).focus()

    def _typed_right(self) -> bool:
        typed = self.query_one("#typed-count", Input).value.strip().replace(",", "")
        return typed == str(self.count)

    @on(Input.Changed, "#typed-count")
    def _typed(self) -> None:
        self.query_one("#go-on", Button).disabled = not self._typed_right()
        self.query_one("#form-error", Static).update("")

    @on(Input.Submitted, "#typed-count")
    @on(Button.Pressed, "#go-on")
    def _go_on(self) -> None:
        if self._typed_right():
            self.dismiss(True)
            return
        self.query_one("#form-error", Static).update(
            Content(f"✗ Type {self.count} to {self.verb.lower()} them, or escape to cancel.")
        )

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(False)
