"""What a running import commit is doing, for the import's GET while the commit runs.

A commit is one write transaction: until it ends, nothing it writes is seen by another
connection, and on SQLite no other connection can write at all. So its progress is kept in the
memory of the service process that runs it (a registry on the FastAPI app), not in the
database: the GET of the import answered by that process shows the phase and its counts. A
replica that does not run the commit knows nothing of it and answers the import as it is
stored (open, no progress).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from starlette.datastructures import State

from tui.wire import models as wire

# Rows a phase writes between two reports of its progress: each batch is one statement (or
# one COPY write), so the count moves every few hundred milliseconds at a million rows.
BATCH_ROWS = 50_000


def batch_rows() -> int:
    """`BATCH_ROWS`, read when a commit runs (a test makes it small to see the phases)."""
    return BATCH_ROWS


class CommitProgress:
    """One commit's phase and counts; written by the commit's thread, read by any request (one
    tuple, replaced whole: a reader never sees one phase's count with another's name)."""

    def __init__(self) -> None:
        self._now: tuple[wire.CommitPhase, int, int] = ("checking", 0, 0)

    def advance(self, phase: wire.CommitPhase, done: int, total: int) -> None:
        self._now = (phase, done, total)

    def wire(self) -> wire.CommitProgress:
        phase, done, total = self._now
        return wire.CommitProgress(phase=phase, done=done, total=total)


class Commits:
    """The commits running in this service process, by import id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[int, CommitProgress] = {}

    @contextmanager
    def running(self, import_id: int) -> Iterator[CommitProgress]:
        """The progress of the commit of `import_id`, shown while the block runs."""
        progress = CommitProgress()
        with self._lock:
            self._running[import_id] = progress
        try:
            yield progress
        finally:
            with self._lock:
                if self._running.get(import_id) is progress:
                    del self._running[import_id]

    def of(self, import_id: int) -> wire.CommitProgress | None:
        with self._lock:
            progress = self._running.get(import_id)
        return progress.wire() if progress else None


_CREATING = threading.Lock()


def commits(state: State) -> Commits:
    """The app's registry of running commits (made on first use)."""
    with _CREATING:
        registry: Commits | None = getattr(state, "commits", None)
        if registry is None:
            registry = Commits()
            state.commits = registry
        return registry
