"""`roster import` on a terminal: the commit's phases, each a line of the progress display
with its count and the time left, as the service tells them."""

from __future__ import annotations

from rich.progress import Progress, TaskID

from tui.api.commit_progress import PHASES, RUNNING
from tui.wire import models as wire


class CommitPhases:
    """A progress line per commit phase heard; the line before it completes as the next
    begins."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.lines: dict[str, TaskID] = {}
        self.current: TaskID | None = None
        self.total = 0  # the current phase's

    def heard(self, now: wire.CommitProgress | None) -> None:
        name = RUNNING if now is None else PHASES.get(now.phase, now.phase)
        if name not in self.lines:
            self._complete_current()
            self.lines[name] = self.progress.add_task(name, total=None)
        self.current = self.lines[name]
        if now is not None and now.total:
            self.total = now.total
            self.progress.update(self.current, completed=now.done, total=now.total)

    def ended(self) -> None:
        """The commit answered: every phase heard is done."""
        self._complete_current()

    def _complete_current(self) -> None:
        if self.current is None:
            return
        total = self.total or 1  # a phase with no count is done as one step
        self.progress.update(self.current, completed=total, total=total)
        self.current, self.total = None, 0
