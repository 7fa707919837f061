"""What screens tell the app: each is a small message, posted up and handled there with `@on`.

A screen never calls the app or the bulk flow; it says what happened (a flow to start, a file
uploaded, a commit asked for) and the app, which owns the flows, decides what comes next.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    import polars as pl
    from textual.screen import Screen

    from tui.api.importer import Choices
    from tui.intake.learner_file import LearnerFile
    from tui.intake.report import Report
    from tui.wire import models as wire


@dataclass
class StartBulkFlow(Message):
    """Invite learners in bulk: for `program`, or choosing one first."""

    program: wire.Program | None = None


@dataclass
class StartSingleInvite(Message):
    """Open the Invite Learner form."""


# eq=False: a frame has no truth value, and a message is itself, not its fields.
@dataclass(eq=False)
class FileUploaded(Message):
    """A step of a bulk flow read and checked a file: its preview comes next.

    `learner_file` is the file as read, `report` its counts and file problems with the service's
    checks, `frame` its `preview_frame` (built off the event loop)."""

    step: Screen[Any]
    learner_file: LearnerFile
    report: Report
    frame: pl.DataFrame


@dataclass(eq=False)
class CommitRequested(Message):
    """The admin asked the preview of a bulk flow to invite its ready rows, with `choices`."""

    step: Screen[Any]
    learner_file: LearnerFile
    report: Report
    frame: pl.DataFrame
    choices: Choices
