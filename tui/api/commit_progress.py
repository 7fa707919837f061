"""Following an import's commit: its phases in words, with counts and the time left.

The service that runs the commit tells its phase and counts on the import's GET
(`wire.ImportStatus.progress`); another replica does not know of it, and the commit is then
said to be running, with no count.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tui.wire import models as wire

PHASES: dict[wire.CommitPhase, str] = {
    "checking": "Checking rows",
    "learners": "Writing learners",
    "invitations": "Writing invitations",
    "emails": "Queueing emails",
    "saving": "Saving the import",
}
# The commit while no count comes: not started yet, or another replica answered.
RUNNING = "Creating invitations: running on the service"

CommitHeard = Callable[[wire.CommitProgress | None], None]


@dataclass
class PhaseClock:
    """The time left in the commit's current phase, from the rate its count has moved since
    the phase was first seen."""

    clock: Callable[[], float] = time.monotonic
    _phase: wire.CommitPhase | None = None
    _first: tuple[float, int] = field(default=(0.0, 0))
    _left: float | None = None

    def heard(self, progress: wire.CommitProgress | None) -> float | None:
        """The seconds left in the phase of `progress`, once its count has moved."""
        if progress is None:
            return None
        now = self.clock()
        if progress.phase != self._phase:
            self._phase, self._first, self._left = progress.phase, (now, progress.done), None
            return None
        began, done_then = self._first
        moved = progress.done - done_then
        if moved > 0 and now > began:
            self._left = (progress.total - progress.done) * (now - began) / moved
        return self._left


def time_left(seconds: float) -> str:
    if seconds < 90:
        return f"about {max(round(seconds), 1)} s left"
    return f"about {round(seconds / 60)} min left"


def commit_line(progress: wire.CommitProgress | None, left: float | None = None) -> str:
    """'Writing invitations: 412,000 of 987,193 · about 20 s left', or the phase alone when
    it has no count, or `RUNNING` when the service does not tell."""
    if progress is None:
        return RUNNING
    words = PHASES.get(progress.phase, progress.phase)
    if not progress.total:
        return words
    line = f"{words}: {progress.done:,} of {progress.total:,}"
    if left is not None and progress.done < progress.total:
        line += f" · {time_left(left)}"
    return line
