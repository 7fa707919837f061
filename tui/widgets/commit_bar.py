"""How an import is made, and the button that makes it: the admin's message in the emails,
whether stored learners take the file's values, and send or only create the invitations."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Button, Checkbox, Static

from tui.intake.report import Report
from tui.text import plural
from tui.widgets.buttons import relabel


class CommitBar(Vertical):
    """The choices for the ready rows of `report`; posts `CommitBar.Pressed` when the button
    is pressed (it is disabled while nothing can be invited)."""

    DEFAULT_CSS = """
    CommitBar { height: auto; }
    CommitBar #message { padding: 0 1; height: 1; color: $text-muted; }
    CommitBar #update { border: none; height: 1; padding: 0 1; margin: 0 1; }
    CommitBar #commit-bar { height: auto; align-vertical: middle; padding: 0 1; }
    CommitBar #commit-bar Checkbox {
        width: 1fr; height: 3; border: none; padding: 0 1; text-wrap: wrap;
        content-align: left middle;
    }
    CommitBar #commit-bar Button { width: auto; min-width: 30; }
    """

    report: reactive[Report] = reactive(lambda: Report(file=""), always_update=True, init=False)
    # The admin's own words for the emails ("" for none).
    message: reactive[str] = reactive("")
    # Send the invitation emails (the checkbox, ticked by default), or only create them.
    send: reactive[bool] = reactive(True)
    # Stored learners whose Full Name or External ID differ take the file's (when any differ).
    update_learners: reactive[bool] = reactive(False, init=False)

    class Pressed(Message):
        """The admin asked for the invitations."""

    def compose(self) -> ComposeResult:
        yield Static(id="message")
        yield Checkbox(id="update")
        with Horizontal(id="commit-bar"):
            yield Checkbox("Send invitations to new members after import", True, id="send")
            yield Button("", id="commit", variant="primary")

    @property
    def action_label(self) -> str:
        """What the button says it will do."""
        return str(self.query_one("#commit", Button).label)

    def watch_report(self, report: Report) -> None:
        box = self.query_one("#update", Checkbox)
        box.display = bool(report.differing)
        box.label = (
            f"Update {plural(report.differing, 'stored learner')} to the file's Full Name and "
            "External ID (u)"
        )
        self._show_button()

    def watch_message(self, message: str) -> None:
        line, more, _ = message.partition("\n")
        self.query_one("#message", Static).update(
            Content.from_markup(
                "Message: [b]$line[/b]$more · p changes it", line=line, more=" …" if more else ""
            )
            if message
            else "No message of your own in the emails · p writes one"
        )

    def watch_send(self, send: bool) -> None:
        self.query_one("#send", Checkbox).value = send
        self._show_button()

    def watch_update_learners(self, update: bool) -> None:
        self.query_one("#update", Checkbox).value = update

    @on(Checkbox.Changed, "#send")
    def _send_changed(self, event: Checkbox.Changed) -> None:
        self.send = event.value

    @on(Checkbox.Changed, "#update")
    def _update_changed(self, event: Checkbox.Changed) -> None:
        self.update_learners = event.value

    @on(Button.Pressed, "#commit")
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Pressed())

    def _show_button(self) -> None:
        ready = self.report.ready
        button = self.query_one("#commit", Button)
        relabel(
            button,
            f"Send invitations to {plural(ready, 'learner')}"
            if self.send
            else f"Create invitations for {plural(ready, 'learner')}",
        )
        button.disabled = ready == 0 or bool(self.report.file_errors)
