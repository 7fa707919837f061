"""The import's commit in the app: the confirm accounts for every row uploaded, the dialog
counts the service's phases, and escape leaves the import running to its end, which the
Imports page and a notification show."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from textual.widgets import DataTable

from tests.app.conftest import (
    ROWS,
    connected,
    learner_file,
    on_screen,
    text_of,
    to_preview,
    until,
)
from tui.app import RosterApp
from tui.screens import preview
from tui.screens.imports import ImportsScreen
from tui.screens.preview import ConfirmCommit
from tui.screens.progress import ImportProgress
from tui.service import commit_progress
from tui.service.commit_progress import CommitProgress
from tui.wire import models as wire

pytestmark = pytest.mark.anyio


def gate_commits(monkeypatch: pytest.MonkeyPatch, release: threading.Event) -> None:
    """From now on, a commit writes 3 rows a batch and stops after its first batch of
    invitations until `release` is set."""
    monkeypatch.setattr(commit_progress, "BATCH_ROWS", 3)
    advance = CommitProgress.advance

    def gated(self: CommitProgress, phase: wire.CommitPhase, done: int, total: int) -> None:
        advance(self, phase, done, total)
        if phase == "invitations" and done == 3:
            release.wait(30)

    monkeypatch.setattr(CommitProgress, "advance", gated)


async def test_escape_leaves_the_commit_running_and_the_imports_page_follows_it(
    app: RosterApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(preview, "ASK_ABOVE", 0)  # the confirm, for a small file
    clean = [f"Learner {n},learner{n}@example.org," for n in range(7)]
    path = learner_file(tmp_path, *ROWS, *clean)  # 12 rows: 10 ready, 2 with errors
    release = threading.Event()
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await connected(pilot)  # the demo data is in: the commits from here are gated
            gate_commits(monkeypatch, release)
            await to_preview(pilot, path)
            await pilot.press("i")
            await on_screen(pilot, ConfirmCommit)
            question = text_of(pilot, "#question")
            assert "12 rows in the file: 10 to invite, 2 with errors (not sent)." in question
            assert "Send invitations to 10 learners" in question
            await pilot.press("enter")

            await on_screen(pilot, ImportProgress)
            await until(pilot, lambda: text_of(pilot, "#phase") == "Writing invitations: 3 of 10")
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, ImportProgress))
            await pilot.press("ctrl+q")  # not yet: the import would stop with the app
            assert app.is_running
            assert any("An import is still running" in n.message for n in app._notifications)

            await pilot.press("h")
            await on_screen(pilot, ImportsScreen)
            table = app.screen.query_one(DataTable)
            await until(pilot, lambda: table.row_count == 1)
            assert str(table.get_row_at(0)[9]) == "committing 30%"
            assert "Committing: Writing invitations: 3 of 10" in text_of(pilot, "#import-detail")

            release.set()
            await until(pilot, lambda: str(table.get_row_at(0)[9]) == "committed")
            assert str(table.get_row_at(0)[2]) == "10"
            await until(
                pilot,
                lambda: any(
                    "The import of learners.csv is complete: 10 invitations created." in n.message
                    for n in app._notifications
                ),
            )
    finally:
        release.set()
