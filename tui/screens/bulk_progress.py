"""A bulk action as it runs: a bar that moves a batch at a time, then what the action did.

Escape (or Stop) does not cut a batch short: the batch in flight finishes, and the dialog says
how many invitations were done and that the rest were left as they were. Each batch is one
transaction on the service, so an invitation is either acted on or untouched, never half; what
the dialog reports is what happened.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widgets import Button, Label, ProgressBar, Static

from tui.api.bulk import BATCH, act_in_batches
from tui.api.client import ApiError, RosterClient, ServiceUnreachableError
from tui.api.outcomes import EmailOutcome, follow_emails, queued
from tui.screens.services import services
from tui.screens.worker_errors import ForwardsWorkerErrors, never_hangs
from tui.text import plural
from tui.widgets.buttons import relabel
from tui.wire import models as wire

# Another action than the invitations' own, a batch at a time: what it did so far after each.
Batches = Callable[[RosterClient], AsyncGenerator[wire.BulkResult, None]]


def result_text(result: wire.BulkResult, done: str, noun: str = "invitation") -> str:
    """ "2 of 3 invitations revoked; left as they were: 1 not pending." """
    left = ", ".join(f"{n:,} {code.replace('_', ' ')}" for code, n in result.left.items())
    return f"{result.changed:,} of {plural(result.matched, noun)} {done}" + (
        f"; left as they were: {left}." if left else "."
    )


# The actions that email: their outcome is followed once they are done.
EMAILS = ("resend", "remind")


def outcome_text(outcome: EmailOutcome) -> str:
    """The emails' outcome, and what follows for those still queued after the wait."""
    if outcome.settled:
        return outcome.text()
    return (
        f"{outcome.text()} They go on being sent; the Invitations page's Email column shows "
        "each one's outcome."
    )


class BulkProgress(ForwardsWorkerErrors, ModalScreen[wire.BulkResult | None]):
    """Runs `action` on `selection` (about `count` invitations) and shows it going; dismissed
    with what was done, once the admin closes it. With `batches`, runs those instead, on
    `count` of what `noun` names (members removed, say)."""

    BINDINGS = [Binding("escape", "stop_or_close", "Stop", show=False)]
    batch_size = BATCH  # invitations a request
    # What the batches did so far; None until the first one answers.
    done_so_far: reactive[wire.BulkResult | None] = reactive(None, init=False)

    def __init__(
        self,
        action: str,
        title: str,
        done: str,
        label: str,
        count: int,
        selection: wire.InvitationSelection | None,
        *,
        batches: Batches | None = None,
        noun: str = "invitation",
    ) -> None:
        super().__init__()
        self.batches = batches
        self.noun = noun
        self.action_name = action
        self.title_text = title
        self.done = done
        self.label = label
        self.count = count
        self.selection = selection
        self.stopping = False
        self.finished = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="bulk-progress"):
            yield Label(f"{self.title_text} {self.noun}s", classes="title", id="bulk-title")
            yield Static(f"{self.label}…", id="bulk-phase")
            yield ProgressBar(total=max(self.count, 1), show_eta=False, id="bulk-bar")
            yield Static(f"0 of {self.count:,}", id="bulk-counts")
            # A resend's or a reminder's emails, as they are delivered or fail.
            yield Static("", id="bulk-emails", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Stop after this batch", id="bulk-stop")

    def on_mount(self) -> None:
        self.run_batches()

    @work(exclusive=True, exit_on_error=False)
    @never_hangs
    async def run_batches(self) -> None:
        client = await services(self).client()
        if self.batches is not None:
            batches = self.batches(client)
        else:
            assert self.selection is not None
            batches = act_in_batches(client, self.action_name, self.selection, self.batch_size)
        try:
            async for so_far in batches:
                self.done_so_far = so_far
                if self.stopping:
                    break
        except ApiError as error:  # the service refused the batch: it changed nothing
            self._finish(f"Stopped: the service refused a batch. {error.problem.detail}")
            return
        except ServiceUnreachableError as error:
            # No answer: the batch in flight may or may not have been applied.
            self._finish(
                f"Stopped: {error}. The batch being sent may or may not have been "
                "applied: reload the page to see."
            )
            return
        finally:
            await batches.aclose()  # stopped between batches: none is in flight
        self._finish("Stopped after the batch in flight." if self.stopping else "Done.")

    def watch_done_so_far(self, so_far: wire.BulkResult | None) -> None:
        if so_far is None:
            return
        total = max(self.count, so_far.matched)
        self.query_one("#bulk-bar", ProgressBar).update(total=total, progress=so_far.matched)
        self.query_one("#bulk-counts", Static).update(
            f"{so_far.matched:,} of {total:,} · {so_far.changed:,} {self.done}"
        )

    def _finish(self, phase: str) -> None:
        self.finished = True
        so_far = self.done_so_far or wire.BulkResult(matched=0, changed=0)
        untouched = self.count - so_far.matched
        self.query_one("#bulk-phase", Static).update(phase)
        not_reached = ""
        if self.stopping and untouched > 0:
            not_reached = f" {plural(untouched, self.noun)} not reached: left as they were."
        self.query_one("#bulk-counts", Static).update(
            result_text(so_far, self.done, self.noun) + not_reached
        )
        button = self.query_one("#bulk-stop", Button)
        relabel(button, "Close")
        button.variant, button.disabled = "primary", False
        button.focus()
        if self.action_name in EMAILS and self.selection is not None and so_far.changed:
            self.follow(self.selection, so_far.changed)

    @work(exclusive=True, group="follow", exit_on_error=False)
    @never_hangs
    async def follow(self, selection: wire.InvitationSelection, changed: int) -> None:
        """The emails the action queued, until each is delivered or failed (or a minute)."""
        line = self.query_one("#bulk-emails", Static)
        line.update(queued(changed).text())
        client = await services(self).client()
        try:
            outcome = await follow_emails(
                client, selection, changed, lambda now: line.update(now.text())
            )
        except ServiceUnreachableError as error:
            line.update(f"The emails' outcome is unknown: {error}")
            return
        line.update(outcome_text(outcome))

    @on(Button.Pressed, "#bulk-stop")
    def action_stop_or_close(self) -> None:
        """While running: stop after the batch in flight. Once finished: close."""
        if self.finished:
            self.dismiss(self.done_so_far)
        elif not self.stopping:
            self.stopping = True
            self.query_one("#bulk-phase", Static).update("Stopping after the batch in flight…")
            self.query_one("#bulk-stop", Button).disabled = True
