"""The app with its service stopped for real: every page says so in place of its content, with
Retry; what a page showed before stays, dimmed and marked as not current."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from tests.app.conftest import (
    choose,
    connected,
    learner_file,
    on_screen,
    text_of,
    until,
    upload,
)
from tests.conftest import SmtpServer, free_port, seed_service_database, start_serve
from tui.app import RosterApp
from tui.screens.imports import ImportsScreen
from tui.screens.invitations import InvitationsScreen
from tui.screens.offline import ServiceDown
from tui.screens.pickers import ChooseContract, ChooseProgram
from tui.screens.preview import PreviewScreen
from tui.screens.progress import CompletionDialog, ImportProgress
from tui.settings import Settings
from tui.widgets.invitation_table import InvitationTable

# The snapshot's service listens here, so that its picture names the same URL every run.
PICTURE_PORT = 48713
Compare = Callable[..., bool]
LAST_ANSWER = datetime(2026, 4, 9, 11, 0, 5).astimezone()


@dataclass
class Remote:
    """`roster serve` that a test stops and starts again on the same port."""

    database: Path
    token: str
    port: int
    mail_url: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process, _ = start_serve(f"sqlite:///{self.database}", self.port, self.mail_url)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def serving(tmp_path: Path, smtp_server: SmtpServer, port: int) -> Iterator[Remote]:
    database, token = seed_service_database(tmp_path)
    remote = Remote(database, token, port, smtp_server.url)
    remote.start()
    yield remote
    remote.stop()


@pytest.fixture
def remote(tmp_path: Path, smtp_server: SmtpServer) -> Iterator[Remote]:
    yield from serving(tmp_path, smtp_server, free_port())


def shown(pilot: Pilot[None]) -> bool:
    notices = pilot.app.screen.query(ServiceDown)
    return bool(notices) and notices.first().has_class("-shown")


@pytest.mark.anyio
async def test_pages_say_the_service_is_unreachable_and_come_back(remote: Remote) -> None:
    app = RosterApp(Settings(api_url=remote.url, token=remote.token))
    async with app.run_test(size=(100, 30)) as pilot:
        await connected(pilot)
        await pilot.press("v")
        await on_screen(pilot, InvitationsScreen)
        table = pilot.app.screen.query_one(InvitationTable)
        await until(pilot, lambda: "invitation" in text_of(pilot, "#invitation-total"))
        remote.stop()

        # Invitations loaded before: its rows stay, dimmed and marked as of the last answer.
        await pilot.press("r")
        await until(pilot, lambda: shown(pilot))
        assert "not current" in text_of(pilot, "#service-down-stale")
        assert table.display and table.has_class("-stale")

        # Imports never loaded: its place says why, and no empty table passes for "none".
        await pilot.press("h")
        await on_screen(pilot, ImportsScreen)
        await until(pilot, lambda: shown(pilot))
        said = text_of(pilot, "#service-down-text")
        assert f"Roster cannot reach the service at {remote.url}: " in said
        assert ": Connection refused. Last answered at " in said
        assert not pilot.app.screen.query_one(DataTable).display

        remote.start()
        await pilot.press("r")  # Retry, though Imports' own r saves results
        await until(pilot, lambda: not shown(pilot))
        assert pilot.app.screen.query_one(DataTable).display
        await pilot.press("v")
        await until(pilot, lambda: not shown(pilot))  # the screen's own reload when shown
        assert not table.has_class("-stale")


@pytest.mark.anyio
async def test_invitations_first_shown_with_the_service_stopped_never_say_there_are_none(
    remote: Remote,
) -> None:
    app = RosterApp(Settings(api_url=remote.url, token=remote.token))
    async with app.run_test(size=(100, 30)) as pilot:
        await connected(pilot)
        remote.stop()
        await pilot.press("v")
        await on_screen(pilot, InvitationsScreen)
        said: set[str] = set()

        def tried() -> bool:
            said.add(text_of(pilot, "#invitation-detail"))
            return shown(pilot)

        await until(pilot, tried)  # the client tries for a few seconds before it says so
        assert "Loading invitations…" in said
        assert "No invitations in this filter." not in said


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        # As uvicorn binds it: a connection of an earlier run in TIME-WAIT does not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture
def pictured(
    tmp_path: Path, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Remote]:
    if not port_free(PICTURE_PORT):
        pytest.skip(f"port {PICTURE_PORT} is taken")
    monkeypatch.setattr("tui.api.client.clock", lambda: LAST_ANSWER)
    yield from serving(tmp_path, smtp_server, PICTURE_PORT)


def test_invitations_with_the_service_stopped(snap_compare: Compare, pictured: Remote) -> None:
    app = RosterApp(Settings(api_url=pictured.url, token=pictured.token))

    async def stopped_then_invitations(pilot: Pilot[None]) -> None:
        await connected(pilot)
        pictured.stop()
        await pilot.press("v")
        await on_screen(pilot, InvitationsScreen)
        await until(pilot, lambda: shown(pilot))
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=stopped_then_invitations)


async def to_onboarding_preview(pilot: Pilot[None], path: Path) -> None:
    """From Admin home to the preview of `path` for Initech's Onboarding, contract FY26."""
    await connected(pilot)
    await pilot.press("i")
    await choose(pilot, ChooseProgram, "onboarding")
    await choose(pilot, ChooseContract, "fy26")
    await upload(pilot, path)
    await on_screen(pilot, PreviewScreen)


def retry_offered(pilot: Pilot[None]) -> bool:
    return (
        isinstance(pilot.app.screen, ImportProgress)
        and pilot.app.screen.query_one("#retry").display
    )


@pytest.mark.anyio
async def test_an_import_the_service_did_not_answer_says_why_in_full_and_retries(
    remote: Remote, tmp_path: Path
) -> None:
    path = learner_file(tmp_path, "Ann Lee,ann@example.org,", "Bob Ray,bob@example.org,")
    app = RosterApp(Settings(api_url=remote.url, token=remote.token))
    async with app.run_test(size=(100, 30)) as pilot:
        await to_onboarding_preview(pilot, path)
        remote.stop()
        await pilot.press("i")
        await until(pilot, lambda: retry_offered(pilot), timeout=60)
        said = text_of(pilot, "#phase")
        assert f"Cannot reach the Roster service at {remote.url}: Connection refused." in said
        assert said.rstrip().endswith("no learner is invited twice.")  # whole, not cut

        remote.start()
        await pilot.press("r")
        await on_screen(pilot, CompletionDialog, timeout=60)
        assert "2 invitations created." in text_of(pilot, "#completion-text")


def test_a_failed_import(snap_compare: Compare, pictured: Remote, tmp_path: Path) -> None:
    path = learner_file(tmp_path, "Ann Lee,ann@example.org,", "Bob Ray,bob@example.org,")
    app = RosterApp(Settings(api_url=pictured.url, token=pictured.token))

    async def stopped_then_invite(pilot: Pilot[None]) -> None:
        await to_onboarding_preview(pilot, path)
        pictured.stop()
        await pilot.press("i")
        await until(pilot, lambda: retry_offered(pilot), timeout=60)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=stopped_then_invite)
