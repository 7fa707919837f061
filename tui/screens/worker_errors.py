"""A worker's failure reaches the app as a message, whatever it was.

Textual's Worker.StateChanged does not bubble, so each screen that runs workers forwards their
failures with `ForwardsWorkerErrors`. Textual's workers catch only `Exception`: a library's
native panic (polars' `PanicException` derives from BaseException) would leave the worker
running forever and the screen waiting. `@never_hangs`, under each `@work`, turns such a
failure into `LibraryFailure`, an Exception the worker reports like any other:

    @work(thread=True, exit_on_error=False)
    @never_hangs
    def export(self, ...) -> None: ...
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import ClassVar, ParamSpec, TypeVar, cast

from textual.message import Message
from textual.message_pump import MessagePump
from textual.worker import Worker, WorkerState

from tui.outcome import is_interrupt

P = ParamSpec("P")
R = TypeVar("R")


def described(error: BaseException) -> str:
    """'PanicException: assertion failed: i < self.len()': the kind and the first line."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


class LibraryFailure(RuntimeError):
    """A failure that is no Exception (a native panic in a library), carried as one."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(described(error))


def _passes(error: BaseException) -> bool:
    """Whether `error` goes on as it is: an Exception, a cancel, or a deliberate stop."""
    return isinstance(error, Exception | asyncio.CancelledError) or is_interrupt(error)


def never_hangs(function: Callable[P, R]) -> Callable[P, R]:
    """`function`, a worker's body, raising `LibraryFailure` for any failure Textual's worker
    would not catch; everything else passes unchanged."""
    if inspect.iscoroutinefunction(function):
        coroutine = cast(Callable[P, Awaitable[object]], function)

        @functools.wraps(function)
        async def run_async(*args: P.args, **kwargs: P.kwargs) -> object:
            try:
                return await coroutine(*args, **kwargs)
            except BaseException as error:
                if _passes(error):
                    raise
                raise LibraryFailure(error) from error

        return cast(Callable[P, R], run_async)

    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except BaseException as error:
            if _passes(error):
                raise
            raise LibraryFailure(error) from error

    return run


class WorkerFailed(Message):
    """A screen's worker ended with an exception; the app tells the admin."""

    def __init__(self, error: BaseException | None) -> None:
        super().__init__()
        self.error = error


class ForwardsWorkerErrors(MessagePump):
    """Mixed into a screen: its workers' failures are posted to the app, never lost or fatal.
    A screen that shows an unreachable service in place (`tui.screens.offline`) keeps those."""

    SAYS_UNREACHABLE: ClassVar[bool] = False

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        if self.SAYS_UNREACHABLE:
            from tui.api.client import ServiceUnreachableError  # loaded by then: it failed

            if isinstance(event.worker.error, ServiceUnreachableError):
                return
        self.app.post_message(WorkerFailed(event.worker.error))
