"""Every home screen says when the service cannot be reached, in place of what it would show.

A screen's worker that finds no service (refused, timed out) raises `ServiceUnreachableError`;
`ShowsServiceState`, mixed into the screen, shows `ServiceDown` under the header: where the
service is, why it did not answer, when it last did, and Retry (the button, or `r`). A screen
that never loaded hides its content meanwhile, so an empty table never passes for "none"; a
screen that loaded before keeps what it showed, dimmed and marked as of the last answer. The
next load that succeeds (Retry, or the screen's own reload) puts the screen back.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Footer, Header, Input, Static
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:  # the client (httpx) loads when the app connects, not before the first frame
    from tui.api.client import ServiceUnreachableError


# The worker whose success means the screen shows current data again.
LOAD = "reload"


def unreachable_text(error: ServiceUnreachableError) -> str:
    """ "Roster cannot reach the service at http://…: [Errno 111] Connection refused. Last
    answered at 14:05:09." """
    reason = error.reason.rstrip(".")
    return f"Roster cannot reach the service at {error.url}: {reason}. " + last_answered(
        error.last_answered
    )


def last_answered(moment: datetime | None) -> str:
    if moment is None:
        return "It has not answered since Roster started."
    return f"Last answered at {moment:%H:%M:%S}."


class ServiceDown(Vertical):
    """Where and why the service did not answer, with Retry; hidden while it answers."""

    DEFAULT_CSS = """
    ServiceDown {
        display: none; height: auto; margin: 1 2; padding: 0 1;
        border: round $error; background: $error 10%;
    }
    ServiceDown.-shown { display: block; }
    ServiceDown #service-down-text { width: 1fr; height: auto; }
    ServiceDown #service-down-stale { width: 1fr; height: auto; color: $warning; }
    ServiceDown Horizontal { height: auto; width: auto; margin-top: 1; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="service-down-text", markup=False)
        yield Static(id="service-down-stale", markup=False)
        with Horizontal():
            yield Button("Retry (r)", id="service-retry", variant="primary", compact=True)

    def say(self, error: ServiceUnreachableError, stale: bool) -> None:
        self.query_one("#service-down-text", Static).update(unreachable_text(error))
        stale_note = self.query_one("#service-down-stale", Static)
        stale_note.display = stale
        if stale:
            when = error.last_answered
            as_of = f"as of {when:%H:%M:%S}" if when else "from an earlier load"
            stale_note.update(f"What this page shows below is {as_of}, not current.")
        self.query_one("#service-retry", Button).label = "Retry (r)"
        self.add_class("-shown")

    def retrying(self) -> None:
        self.query_one("#service-retry", Button).label = "Trying again…"


class ShowsServiceState(Screen[Any]):
    """Mixed into a home screen with a `reload()` worker (its page load)."""

    # Read by ForwardsWorkerErrors: the screen says it, a notification would say it twice.
    SAYS_UNREACHABLE: ClassVar[bool] = True

    unreachable: ServiceUnreachableError | None = None
    _loaded_once = False
    _hidden: tuple[Widget, ...] = ()

    def reload(self) -> object:
        raise NotImplementedError

    @on(events.Mount)
    def _add_service_down(self) -> None:
        # `r` retries, before the screen's own `r` (Imports saves results with it) and only
        # while unreachable (check_action). Added to this screen's bindings: a class's
        # BINDINGS would give way to a subclass's binding of the same key.
        self._bindings.bind("r", "retry_service", show=False, priority=True)
        headers = self.query_children(Header)
        notice = ServiceDown()
        if headers:
            self.mount(notice, after=headers.first())
        else:
            self.mount(notice, before=0)

    @on(Worker.StateChanged)
    def _service_state(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            # Only now: the client's modules (httpx, the wire models) are a third of a second
            # to import, and a worker's first state change comes before the first frame.
            from tui.api.client import ServiceUnreachableError

            error = event.worker.error
            if isinstance(error, ServiceUnreachableError):
                self._cannot_reach(error)
        elif event.state == WorkerState.SUCCESS and event.worker.name == LOAD:
            self._loaded_once = True
            self._reached()

    def _content(self) -> list[Widget]:
        return [
            child
            for child in self.children
            if not isinstance(child, Header | Footer | ServiceDown) and child.display
        ]

    def _cannot_reach(self, error: ServiceUnreachableError) -> None:
        self.unreachable = error
        notice = self.query_one(ServiceDown)
        notice.say(error, stale=self._loaded_once)
        if self._loaded_once:
            for child in self._content():
                child.add_class("-stale")
        elif not self._hidden:
            self._hidden = tuple(self._content())
            for child in self._hidden:
                child.display = False
            notice.query_one("#service-retry", Button).focus()

    def _reached(self) -> None:
        if self.unreachable is None:
            return
        self.unreachable = None
        self.query_one(ServiceDown).remove_class("-shown")
        for child in self.children:
            child.remove_class("-stale")
        for child in self._hidden:
            child.display = True
        self._hidden = ()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "retry_service":
            # Only while unreachable, and never instead of an `r` typed into a text box.
            return self.unreachable is not None and not isinstance(self.focused, Input)
        return super().check_action(action, parameters)

    @on(Button.Pressed, "#service-retry")
    def action_retry_service(self) -> None:
        self.query_one(ServiceDown).retrying()
        self.reload()
