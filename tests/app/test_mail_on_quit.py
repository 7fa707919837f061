"""Emails still queued when the admin quits: the Import complete dialog and the question at
Ctrl+Q say they go out only while Roster runs and point to `roster worker`; with none queued,
Ctrl+Q quits at once, as before."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.conftest import connected, learner_file, on_screen, text_of, to_preview, until
from tests.conftest import free_port
from tui.app import RosterApp
from tui.screens.home import AdminHome
from tui.screens.queued_mail import QueuedMailOnQuit
from tui.settings import Settings

pytestmark = pytest.mark.anyio


async def test_quitting_with_emails_queued_says_roster_worker_sends_them(
    data_dir: Path, tmp_path: Path
) -> None:
    from tui.screens.progress import CompletionDialog, ImportProgress

    down = f"smtp://127.0.0.1:{free_port()}"  # nothing listens: the emails stay queued
    app = RosterApp(Settings(data_dir=data_dir, mail_url=down))
    path = learner_file(tmp_path, "Ann Lee,ann@example.org,", "Bob Ray,bob@example.org,")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_preview(pilot, path)
        await pilot.press("i")
        await on_screen(pilot, ImportProgress)
        await until(pilot, lambda: app.screen.query_one("#close").disabled is False, timeout=60)
        await pilot.press("escape")
        await on_screen(pilot, CompletionDialog)
        assert "after you quit, `roster worker` does." in text_of(pilot, "#completion-text")
        await pilot.press("enter")
        await on_screen(pilot, AdminHome)

        await pilot.press("ctrl+q")
        await on_screen(pilot, QueuedMailOnQuit)
        assert text_of(pilot, "#queued-title") == "2 emails still queued"
        assert "roster worker" in text_of(pilot, "#queued-detail")
        await pilot.press("escape")  # stay
        await on_screen(pilot, AdminHome)
        assert app.is_running
        await pilot.press("ctrl+q")
        await on_screen(pilot, QueuedMailOnQuit)
        await pilot.press("q")
        await until(pilot, lambda: app.return_code is not None)
    assert app.return_code == 0


async def test_with_no_email_queued_ctrl_q_quits_at_once(app: RosterApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        await pilot.press("ctrl+q")
        await until(pilot, lambda: app.return_code is not None)
    assert app.return_code == 0
