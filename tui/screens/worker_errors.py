"""A worker's failure reaches the app as a message: Textual's Worker.StateChanged does not
bubble, so each screen that runs workers forwards their failures with this mixin."""

from __future__ import annotations

from textual.message import Message
from textual.message_pump import MessagePump
from textual.worker import Worker, WorkerState


class WorkerFailed(Message):
    """A screen's worker ended with an exception; the app tells the admin."""

    def __init__(self, error: BaseException | None) -> None:
        super().__init__()
        self.error = error


class ForwardsWorkerErrors(MessagePump):
    """Mixed into a screen: its workers' failures are posted to the app, never lost or fatal."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.app.post_message(WorkerFailed(event.worker.error))
