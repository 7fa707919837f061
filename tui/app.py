"""The Roster app: three home screens (modes) and the invitation flow, on the service client.

Each home screen is a mode with its own screen stack, so it is reachable from anywhere, and a
flow started from it is pushed on top of it: Close pops back to exactly where the flow began.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import constants, on, work
from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen

from tui.intake.fields import HEADERS
from tui.screens.messages import CommitRequested, FileUploaded, StartBulkFlow, StartSingleInvite
from tui.screens.services import Services
from tui.screens.worker_errors import LibraryFailure, WorkerFailed, never_hangs
from tui.settings import Settings
from tui.urls import mask_url

if TYPE_CHECKING:
    from tui.api.client import RosterClient
    from tui.flow import BulkFlow
    from tui.service.runtime import EmbeddedService
    from tui.wire import models as wire


class RosterCommands(Provider):
    """Command palette entries for both flows and for saving the template."""

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        from tui.screens.save_as import save_template

        app = self.app
        assert isinstance(app, RosterApp)
        invites: list[tuple[str, str, Callable[[], object]]] = [
            (
                "Invite learners in bulk",
                "Choose a program and contract, upload a file",
                app.start_bulk_flow,
            ),
            ("Invite one learner", "The Invite Learner form", app.start_single_invite),
        ]
        return [
            *([] if app.read_only else invites),
            (
                "Save the CSV template",
                ", ".join(HEADERS),
                lambda: save_template(app, Path.cwd()),
            ),
            ("Admin home", "Usage overview", lambda: app.switch_mode("home")),
            ("Users", "Learners and their invitations", lambda: app.switch_mode("users")),
            (
                "Learning programs",
                "Programs and their learners",
                lambda: app.switch_mode("programs"),
            ),
            (
                "Invitations",
                "Every invitation: resend, remind, revoke",
                lambda: app.switch_mode("invitations"),
            ),
            ("Imports", "The history of imports", lambda: app.switch_mode("imports")),
            ("Activity", "The audit record: who changed what", lambda: app.switch_mode("activity")),
            (
                "Organization",
                "Contracts and the invitation policy",
                lambda: app.switch_mode("organization"),
            ),
        ]

    async def discover(self) -> Hits:
        for name, help_, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_, callback in self._commands():
            if (score := matcher.match(name)) > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_)


def _mode(module: str, name: str) -> Callable[[], Screen[Any]]:
    """A mode's screen, its module loaded when the mode is first shown: the first frame (Admin
    home) waits for none of the other screens' modules (the Programs page's loads polars).

    The screen is made styled as the app's stylesheet stands, which it is: its widgets take
    their styles as they mount. Made as Textual makes it, a mode's new screen is marked out of
    date, and Textual (8.2, pinned) parses the whole stylesheet again on its first showing,
    twice (App._init_mode, then App.switch_mode), 26-49 ms each on a 2-core machine: from key
    to page drawn, Users took 350 ms rather than 254 ms the first time. A theme chosen later
    still marks every screen out of date, and each is styled again when next shown.
    tests/app/test_modes.py::test_a_page_first_shown_parses_no_stylesheet_again fails if this
    mark is no longer Textual's.
    """

    def screen() -> Screen[Any]:
        made: Screen[Any] = getattr(importlib.import_module(f"tui.screens.{module}"), name)()
        made._css_update_count = made.app._css_update_count
        return made

    return screen


class RosterApp(App[None]):
    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "Roster"
    COMMANDS = App.COMMANDS | {RosterCommands}
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        "home": _mode("home", "AdminHome"),
        "users": _mode("users", "UsersScreen"),
        "programs": _mode("programs", "ProgramsScreen"),
        "invitations": _mode("invitations", "InvitationsScreen"),
        "imports": _mode("imports", "ImportsScreen"),
        "activity": _mode("activity", "ActivityScreen"),
        "organization": _mode("organization", "OrganizationScreen"),
    }
    DEFAULT_MODE = "home"
    # Below 30 lines (80x24 and such) every screen gets the class -short: dialogs go compact.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    BINDINGS = [
        Binding("a", "switch_mode('home')", "Admin home"),
        Binding("u", "switch_mode('users')", "Users"),
        Binding("p", "switch_mode('programs')", "Programs"),
        Binding("v", "switch_mode('invitations')", "Invitations"),
        Binding("h", "switch_mode('imports')", "Imports"),
        # Activity, out of the footer (its keys fill 80 columns); the key list (?) and the
        # palette offer it by name.
        Binding("t", "switch_mode('activity')", "Activity", show=False),
        Binding("o", "switch_mode('organization')", "Organization", show=False),
        # The footer shows the key list's key first (tui.widgets.footer): these two stay out of
        # its list. Before the focused field, on dialogs too: F1 everywhere, `?` where the
        # focused field does not take `?` as text (Textual leaves it to such a field).
        Binding("question_mark", "help", "Keys", show=False, priority=True),
        Binding("f1", "help", "Keys", show=False, priority=True),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self._client: RosterClient | None = None
        self._connected = asyncio.Event()
        self._service: EmbeddedService | None = None
        self.me: wire.Me | None = None
        # The bulk flows under way; each lives while one of its steps is on a screen stack.
        self._flows: weakref.WeakSet[BulkFlow] = weakref.WeakSet()

    def on_mount(self) -> None:
        if self.settings.theme in self.available_themes:
            self.theme = self.settings.theme

    def on_ready(self) -> None:
        # After the first screen is drawn: starting the embedded service imports the service's
        # libraries, and would hold the interpreter's lock while the screen waits to be drawn.
        self.connect()

    def action_help(self) -> None:
        """Every key of the current screen; the same key on the key list closes it."""
        from tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
        else:
            self.push_screen(HelpScreen(self.screen))

    def watch_theme(self, theme: str) -> None:
        """Remember the admin's choice in the config file for the next start."""
        if theme == (self.settings.theme or constants.DEFAULT_THEME):
            return
        from tui.settings import update_config_file

        try:
            update_config_file({"theme": theme})
        except OSError as error:
            self.notify(
                f"The theme is not remembered: {error.strerror}.", severity="warning", markup=False
            )
            return
        self.settings = self.settings.replace(theme=theme)

    @work(exclusive=True, group="connect", exit_on_error=False)
    @never_hangs
    async def connect(self) -> None:
        """Reach the service (starting the embedded one); on failure, say where and why."""
        # The client's modules (httpx, the wire models) load on a thread, after the first frame.
        await asyncio.to_thread(importlib.import_module, "tui.api.client")
        from tui.api.client import ApiError, RosterClient, ServiceUnreachableError
        from tui.outcome import Exit, Failure

        # The URL as the admin may see it: a password in it is never shown.
        shown_url = mask_url(self.settings.api_url, "http") if self.settings.api_url else ""
        where = shown_url or f"the embedded service in {self.settings.data_dir}"
        try:
            if self.settings.api_url and not (self.settings.token or "").strip():
                # As the commands say it (tui.cli.client.connect): no request goes out without one.
                self._connection_failed(
                    "No admin token",
                    where,
                    f"Log in with: roster login --api-url {shown_url} (or set "
                    "ROSTER_TOKEN; roster admin create-admin prints one).",
                    Exit.USAGE,
                )
                return
            if self.settings.api_url:
                self._client = RosterClient(self.settings.api_url, self.settings.token or "")
            elif self._service is not None:
                await self._reread_embedded_token()
            elif self._client is None:
                service = await asyncio.to_thread(_start_embedded, self.settings)
                self._service = service
                self._client = RosterClient(service.url, service.token)
            assert self._client is not None
            self.me = await self._client.me()
        except ServiceUnreachableError as error:
            self._connection_failed(
                "Cannot reach the Roster service", where, str(error), Exit.UNREACHABLE
            )
            return
        except ApiError as error:
            from tui.wire.models import LASTING_DATABASE_CODES, STORAGE_FAULT_CODES

            problem, detail = error.problem, error.problem.detail
            # Titled and ended as the commands end them (tui.cli.client.run).
            if problem.status == 401:
                title, code = "The service refused the token", Exit.REFUSED
                detail = "The service does not know this admin token (it may have been replaced). "
                detail += self._how_to_go_on()
            elif problem.code in STORAGE_FAULT_CODES:
                title, code = "The service's storage failed", Exit.STORAGE
            elif problem.code in LASTING_DATABASE_CODES:
                title, code = "The service's database needs attention", Exit.USAGE
            else:
                title, code = "The service refused to connect", Exit.REFUSED
            self._connection_failed(title, where, detail, code)
            return
        except Failure as failure:
            self._connection_failed("Roster cannot start", where, failure.message, Exit.USAGE)
            return
        self.sub_title = self.me.organization.name
        self._connected.set()
        # Textual, the service and their libraries are loaded now and live as long as the app:
        # the collector need not walk them again. Its full passes over them held the
        # interpreter's lock for 60-130 ms during a large upload, frames the terminal missed.
        gc.freeze()

    @property
    def read_only(self) -> bool:
        """The admin is a viewer: the screens and the palette offer nothing that changes."""
        return self.me is not None and self.me.role == "viewer"

    def _connection_failed(self, title: str, where: str, detail: str, code: int) -> None:
        from tui.screens.connection import ConnectionProblem

        def answered(retry: bool | None) -> None:
            if retry:
                self.connect()
            else:
                self.exit(return_code=code)

        self.push_screen(ConnectionProblem(title, where, detail), answered)

    def _how_to_go_on(self) -> str:
        """What to do when the service no longer takes the app's admin token."""
        if self.settings.api_url:
            shown_url = mask_url(self.settings.api_url, "http")
            return (
                f"Log in with the new token: roster login --api-url {shown_url} (or set "
                "ROSTER_TOKEN), then start Roster again."
            )
        return (
            "Try again reads the token the data directory keeps now (roster admins rotate "
            "writes it there); or quit and start Roster again."
        )

    def _token_refused(self) -> None:
        """The service refused the admin token after the app connected (rotated or removed):
        said once, on the connection problem screen; screens' workers wait meanwhile."""
        from tui.outcome import Exit

        if not self._connected.is_set():
            return  # said already: the other screens' refusals add nothing
        self._connected.clear()
        where = (
            mask_url(self.settings.api_url, "http")
            if self.settings.api_url
            else f"the embedded service in {self.settings.data_dir}"
        )
        detail = "It was rotated or removed since Roster started. " + self._how_to_go_on()
        self._connection_failed("This admin token no longer works", where, detail, Exit.REFUSED)

    async def _reread_embedded_token(self) -> None:
        """Connect again with the token the data directory keeps now, if it changed."""
        from tui.service.runtime import TOKEN_FILE

        assert self._service is not None
        try:
            token = (self.settings.data_dir / TOKEN_FILE).read_text().strip()
        except OSError:  # none, or unreadable: the token the service started with
            token = ""
        if token and token != self._service.token:
            from tui.api.client import RosterClient

            self._service.token = token
            old, self._client = self._client, RosterClient(self._service.url, token)
            if old is not None:
                await old.close()

    def on_worker_failed(self, event: WorkerFailed) -> None:
        """Any worker's failure is a message in the app, never the end of it."""
        from tui.api.client import ApiError, ServiceUnreachableError

        error = event.error
        if isinstance(error, ApiError) and error.problem.status == 401:
            self._token_refused()
            return
        if isinstance(error, ServiceUnreachableError):
            message = str(error)
        elif isinstance(error, ApiError):
            message = error.problem.detail
        elif isinstance(error, LibraryFailure):
            message = (
                f"A library Roster uses failed: {error}"[:240]
                + ". Nothing was lost; try again, and report this message if it comes back."
            )
        else:
            message = f"Something went wrong: {type(error).__name__}: {error}"[:300]
        self.notify(message, title="Roster", severity="error", timeout=10, markup=False)

    async def client(self) -> RosterClient:
        """The service client, once connected (screens' workers wait for it)."""
        await self._connected.wait()
        assert self._client is not None
        return self._client

    @property
    def sends_mail_itself(self) -> bool:
        """The embedded service sends the data directory's mail, only while the app runs."""
        return not self.settings.api_url

    async def action_quit(self) -> None:
        """Quit; with the embedded service's emails still queued, first say that they go out
        only while Roster runs (or with `roster worker`), and let the admin stay."""
        from tui.screens.queued_mail import QueuedMailOnQuit

        if isinstance(self.screen, QueuedMailOnQuit):  # asked already: Ctrl+Q again quits
            self.exit()
            return
        if self._import_runs():
            return
        queued = await self._queued_emails()
        if not queued:
            self.exit()
            return

        def answered(quit_anyway: bool | None) -> None:
            if quit_anyway:
                self.exit()

        self.push_screen(QueuedMailOnQuit(queued), answered)

    _told_import_runs = False

    def _import_runs(self) -> bool:
        """An import not yet committed: said once, and Ctrl+Q again quits anyway."""
        from tui.screens.progress import IMPORTING

        running = any(
            worker.group == IMPORTING and not worker.is_finished for worker in self.workers
        )
        if not running or self._told_import_runs:
            self._told_import_runs = running
            return False
        self._told_import_runs = True
        self.notify(
            "An import is still running: quitting now may stop it before its invitations are "
            "written (then nothing of it is, and the file can be imported again). Wait for "
            "the notification that it is complete, or press Ctrl+Q again to quit anyway.",
            title="Import running",
            severity="warning",
            markup=False,
            timeout=15,
        )
        return True

    async def _queued_emails(self) -> int:
        """How many of the embedded service's emails are still queued or being retried; 0
        when the app does not send its own mail or cannot tell."""
        if not self.sends_mail_itself or self._client is None or not self._connected.is_set():
            return 0
        from tui.api.client import ApiError, ServiceUnreachableError

        try:
            pages = [
                await self._client.invitations(email_status=status, limit=1)
                for status in ("queued", "retrying")
            ]
        except (ApiError, ServiceUnreachableError):
            return 0
        return sum(page.total for page in pages)

    async def on_unmount(self) -> None:
        if self._client is not None:
            await self._client.close()
        if self._service is not None:
            await asyncio.to_thread(self._service.stop)

    def start_bulk_flow(self, program: wire.Program | None = None) -> None:
        """The bulk flow, on top of the current home screen; closed, it returns there."""
        from tui.flow import BulkFlow

        origin = self.current_mode
        flow = BulkFlow(
            self,
            limits=self.settings.limits,
            close=lambda: self.return_to_origin(origin),
            program=program,
        )
        self._flows.add(flow)
        flow.start()

    def start_single_invite(self, program: wire.Program | None = None) -> None:
        from tui.screens.invite_learner import InviteLearnerScreen

        origin = self.current_mode

        def done(invitation: wire.Invitation | None) -> None:
            if invitation is not None:
                self.return_to_origin(origin)

        self.push_screen(InviteLearnerScreen(program), done)

    @on(StartBulkFlow)
    def _start_bulk_flow(self, message: StartBulkFlow) -> None:
        self.start_bulk_flow(message.program)

    @on(StartSingleInvite)
    def _start_single_invite(self) -> None:
        self.start_single_invite()

    @on(FileUploaded)
    def _file_uploaded(self, message: FileUploaded) -> None:
        for flow in list(self._flows):
            if flow.owns(message.step):
                flow.file_uploaded(message)

    @on(CommitRequested)
    def _commit_requested(self, message: CommitRequested) -> None:
        for flow in list(self._flows):
            if flow.owns(message.step):
                flow.commit_requested(message)

    def return_to_origin(self, origin: str) -> None:
        """Close a finished flow: back to the home screen it started from."""
        if self.current_mode != origin:
            self.switch_mode(origin)
        while len(self.screen_stack) > 1:
            self.pop_screen()
        refresh = getattr(self.screen, "reload", None)
        if refresh:
            refresh()


def _start_embedded(settings: Settings) -> EmbeddedService:
    """The embedded service, started on a thread: its modules (sqlalchemy, fastapi, uvicorn,
    polars) load there too, so that the event loop draws and answers keys meanwhile."""
    from tui.service.runtime import EmbeddedService
    from tui.service.startup import check_data_dir, start_embedded

    check_data_dir(settings.data_dir)
    return start_embedded(EmbeddedService(settings))


# Screens reach the app as `Services` (tui.screens.services): mypy checks here that it is one.
_SERVES_SCREENS: type[Services] = RosterApp
