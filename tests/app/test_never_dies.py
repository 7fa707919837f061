"""The app never dies: an unreachable service or a refused token gets a screen naming where,
with retry and quit (quitting exits non-zero), and a worker's failure is a message, not the end."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.conftest import (
    choose,
    connected,
    learner_file,
    on_screen,
    text_of,
    to_preview,
    until,
    upload,
)
from tests.conftest import free_port
from tui.app import RosterApp
from tui.outcome import Exit
from tui.screens.connection import ConnectionProblem
from tui.screens.programs import ProgramsScreen
from tui.settings import Settings, load_settings

pytestmark = pytest.mark.anyio


async def test_an_unreachable_service_names_the_url_and_quitting_exits_4() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    app = RosterApp(Settings(api_url=url, token="rst_anything"))
    async with app.run_test(size=(80, 24)) as pilot:
        await on_screen(pilot, ConnectionProblem, timeout=60)
        assert url in text_of(pilot, "#problem-detail")
        assert "Cannot reach" in str(app.screen.query_one("#problem-title").render())
        await pilot.press("r")  # try again: still nothing there
        await on_screen(pilot, ConnectionProblem, timeout=60)
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running or app.return_code is not None)
    assert app.return_code == Exit.UNREACHABLE


async def test_a_refused_token_says_so_and_quitting_exits_3(data_dir: Path) -> None:
    # The embedded service of a data directory, reached with a wrong token as a remote one.
    from tui.service.runtime import EmbeddedService

    service = EmbeddedService(Settings(data_dir=data_dir)).start()
    try:
        app = RosterApp(Settings(api_url=service.url, token="rst_wrong"))
        async with app.run_test(size=(80, 24)) as pilot:
            await on_screen(pilot, ConnectionProblem)
            assert "refused the token" in str(app.screen.query_one("#problem-title").render())
            assert service.url in text_of(pilot, "#problem-where")
            await pilot.press("escape")
            await until(pilot, lambda: app.return_code is not None)
        assert app.return_code == Exit.REFUSED
    finally:
        service.stop()


async def test_a_damaged_database_behind_the_service_is_named_and_quitting_exits_2(
    data_dir: Path,
) -> None:
    import sqlite3

    from tui.service.runtime import EmbeddedService

    service = EmbeddedService(Settings(data_dir=data_dir)).start()
    try:
        with sqlite3.connect(data_dir / "roster.db") as database:
            database.execute("DROP TABLE admins")  # every request reads its admin first
        app = RosterApp(Settings(api_url=service.url, token=service.token))
        async with app.run_test(size=(80, 24)) as pilot:
            await on_screen(pilot, ConnectionProblem)
            title = str(app.screen.query_one("#problem-title").render())
            assert title == "The service's database needs attention"
            assert text_of(pilot, "#problem-detail").startswith(
                "The database lacks part of Roster's schema; it was changed outside Roster "
                "(SQLite: no such table: admins)."
            )
            await pilot.press("escape")
            await until(pilot, lambda: app.return_code is not None)
        assert app.return_code == Exit.USAGE
    finally:
        service.stop()


async def test_a_service_url_without_a_token_says_how_to_log_in() -> None:
    app = RosterApp(Settings(api_url="http://127.0.0.1:9", token=""))
    async with app.run_test(size=(80, 24)) as pilot:
        await on_screen(pilot, ConnectionProblem)
        assert "No admin token" in str(app.screen.query_one("#problem-title").render())
        assert "roster login --api-url http://127.0.0.1:9" in text_of(pilot, "#problem-detail")
        await pilot.press("escape")
        await until(pilot, lambda: app.return_code is not None)
    assert app.return_code == Exit.USAGE


async def test_a_worker_that_fails_leaves_a_message_and_the_app_running(app: RosterApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot)
        assert app._service is not None
        app._service.stop()  # the service goes away mid-session
        await pilot.press("p")
        await on_screen(pilot, ProgramsScreen)
        # Said in place of the programs, with Retry (tui/screens/offline.py).
        await until(
            pilot, lambda: "cannot reach" in text_of(pilot, "#service-down-text"), timeout=60
        )
        assert app.is_running
        assert isinstance(app.screen, ProgramsScreen)


async def test_while_the_mail_server_is_down_progress_says_why_and_close_lets_the_emails_go_on(
    data_dir: Path, tmp_path: Path
) -> None:
    from tui.screens.progress import CompletionDialog, ImportProgress

    down = f"smtp://127.0.0.1:{free_port()}"  # nothing listens: every attempt is refused
    app = RosterApp(Settings(data_dir=data_dir, mail_url=down))
    path = learner_file(tmp_path, "Ann Lee,ann@example.org,", "Bob Ray,bob@example.org,")
    async with app.run_test(size=(120, 40)) as pilot:
        await to_preview(pilot, path)
        await pilot.press("i")
        await on_screen(pilot, ImportProgress)

        def phase() -> str:
            return text_of(pilot, "#phase")

        await until(pilot, lambda: phase().startswith("Retrying 2 emails"), timeout=60)
        assert "connect" in phase().lower()
        await pilot.press("escape")
        await on_screen(pilot, CompletionDialog)
        text = text_of(pilot, "#completion-text")
        assert "2 invitations created." in text
        assert "2 emails still queued (the mail server:" in text


async def test_the_theme_chosen_is_the_theme_at_the_next_start(data_dir: Path) -> None:
    from tui.config_file import CONFIG_FILE, config_file_values

    first = RosterApp(Settings(data_dir=data_dir))
    async with first.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: first.me is not None)
        first.theme = "nord"
    assert config_file_values()["theme"] == "nord"
    assert CONFIG_FILE.exists()
    again = RosterApp(load_settings({"data_dir": data_dir}))
    async with again.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: again.me is not None)
        assert again.theme == "nord"


async def test_a_service_gone_before_the_dry_run_is_said_on_the_upload_screen(
    app: RosterApp, tmp_path: Path
) -> None:
    from tui.screens.pickers import ChooseContract, ChooseProgram
    from tui.screens.upload import UploadScreen

    path = tmp_path / "learners.csv"
    path.write_text("Full Name,Email,External ID\nAnn Lee,ann@example.org,\n")
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        await pilot.press("i")
        await choose(pilot, ChooseProgram, "inclusive")
        await choose(pilot, ChooseContract, "enterprise")
        await on_screen(pilot, UploadScreen)
        assert app._service is not None
        app._service.stop()
        await upload(pilot, path)
        # Where "Checking with the service…" stood, not a notice under a status left standing.
        await until(pilot, lambda: "Cannot reach" in text_of(pilot, "#path-error"), timeout=60)
        assert isinstance(app.screen, UploadScreen)


@pytest.mark.parametrize(
    ("target", "said"),
    [
        ("read_learner_file", "while reading the file, before any row was read"),
        ("preview_frame", "while checking the rows, with 2 learner rows read"),
    ],
)
async def test_a_native_panic_while_uploading_is_said_where_reading_stood(
    app: RosterApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str, said: str
) -> None:
    import polars as pl

    from tui.screens import upload as upload_screen
    from tui.screens.pickers import ChooseContract, ChooseProgram
    from tui.screens.upload import UploadScreen

    def panic(*_: object) -> None:
        raise pl.exceptions.PanicException("boom")

    monkeypatch.setattr(upload_screen, target, panic)
    path = learner_file(tmp_path, "Ann Lee,ann.lee@example.org,", "Bob Ray,bob.ray@example.org,")
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot)
        await pilot.press("i")
        await choose(pilot, ChooseProgram, "inclusive")
        await choose(pilot, ChooseContract, "enterprise")
        await upload(pilot, path)
        await until(pilot, lambda: "PanicException: boom" in text_of(pilot, "#path-error"))
        assert said in text_of(pilot, "#path-error")
        assert isinstance(app.screen, UploadScreen)
        await pilot.press("escape")  # the app still answers
        await on_screen(pilot, ChooseContract)


async def test_a_native_panic_while_leaving_a_row_out_keeps_the_preview_and_says_why(
    app: RosterApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import polars as pl

    from tui.screens import preview as preview_screen
    from tui.screens.preview import PreviewScreen
    from tui.widgets.preview_rows import PreviewRows

    def panic(*_: object) -> None:
        raise pl.exceptions.PanicException("boom")

    monkeypatch.setattr(preview_screen, "leave_out_row", panic)
    path = learner_file(tmp_path, "Ann Lee,ann.lee@example.org,", "Bob Ray,bob.ray@example.org,")
    async with app.run_test(size=(120, 40)) as pilot:
        await to_preview(pilot, path)
        preview = app.screen
        assert isinstance(preview, PreviewScreen)
        await pilot.press("d")
        await until(
            pilot, lambda: any("PanicException: boom" in n.message for n in app._notifications)
        )
        # The rows are as they were, and the preview is not left waiting on the check.
        assert preview.report.ready == 2
        assert not preview.query_one(PreviewRows).checking
        assert isinstance(app.screen, PreviewScreen)


@pytest.mark.parametrize(
    ("target", "title", "said"),
    [
        ("ready_rows", "The import did not happen", "while preparing the rows"),
        ("run_import", "The import stopped", "Imports page shows whether"),
    ],
)
async def test_a_native_panic_while_importing_is_said_and_close_works(
    app: RosterApp,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    target: str,
    title: str,
    said: str,
) -> None:
    import polars as pl
    from textual.widgets import Button

    from tui.screens import progress
    from tui.screens.preview import PreviewScreen

    def panic(*_: object, **__: object) -> None:
        raise pl.exceptions.PanicException("boom")

    monkeypatch.setattr(progress, target, panic)
    path = learner_file(tmp_path, "Ann Lee,ann.lee@example.org,", "Bob Ray,bob.ray@example.org,")
    async with app.run_test(size=(120, 40)) as pilot:
        await to_preview(pilot, path)
        await pilot.press("i")
        await on_screen(pilot, progress.ImportProgress)
        await until(pilot, lambda: "PanicException: boom" in text_of(pilot, "#phase"))
        assert said in text_of(pilot, "#phase")
        assert text_of(pilot, "#progress-title") == title
        close = app.screen.query_one("#close", Button)
        assert not close.disabled
        await pilot.click("#close")
        await on_screen(pilot, PreviewScreen)


async def test_a_native_panic_in_any_worker_is_a_message_not_a_hang(
    app: RosterApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Textual's workers catch only Exception; a panic (a BaseException) would leave the
    worker running and the page empty without a word."""
    import polars as pl

    from tui.api.client import RosterClient

    async def panic(*_: object, **__: object) -> None:
        raise pl.exceptions.PanicException("boom")

    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot)
        monkeypatch.setattr(RosterClient, "programs", panic)
        await pilot.press("p")
        await on_screen(pilot, ProgramsScreen)
        await until(
            pilot,
            lambda: any(
                "A library Roster uses failed: PanicException: boom" in n.message
                for n in app._notifications
            ),
        )
        assert app.is_running
        await pilot.press("a")  # the app still answers
        await until(pilot, lambda: app.current_mode == "home")
