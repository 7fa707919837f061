"""Sync with a file: the file HR sends, read and checked as an upload's, then sent as a sync
whose diff the Sync preview shows. Nothing changes here: the service only computes the diff."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from tui.api.client import ApiError, ServiceUnreachableError
from tui.intake.columns import columns_to_choose
from tui.intake.safety import READING, failure_problem
from tui.outcome import is_interrupt
from tui.screens.choose_columns import ChooseColumns
from tui.screens.save_as import clean_path
from tui.screens.services import services
from tui.screens.worker_errors import ForwardsWorkerErrors, never_hangs
from tui.text import plural
from tui.widgets.footer import Footer, HelpKeyInput
from tui.wire import models as wire

if TYPE_CHECKING:
    import polars as pl

    from tui.intake import LearnerFile
    from tui.intake.limits import Limits


@dataclass
class SyncUpload:
    """A sync uploaded and not committed: its import, the rows sent, and its diff."""

    program: wire.Program
    contract: wire.Contract
    file_name: str
    rows: pl.DataFrame
    import_id: int
    diff: wire.SyncDiff


class SyncFile(ForwardsWorkerErrors, ModalScreen[SyncUpload | None]):
    """The file's path (typed, pasted, dropped or browsed); enter reads it and sends it as a
    sync. Dismisses with the uploaded sync, or None (escape)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, program: wire.Program, contract: wire.Contract, limits: Limits | None):
        super().__init__()
        self.program = program
        self.contract = contract
        self.limits = limits

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="sync-file"):
            yield Label("Sync with a file", classes="title")
            yield Static(
                Content.from_markup(
                    "Make [b]$program[/b] match the file (contract [b]$contract[/b]). "
                    "You see every change before anything changes.",
                    program=self.program.name,
                    contract=self.contract.name,
                ),
                classes="hint",
            )
            yield HelpKeyInput(
                placeholder="Path to the file (.csv, .tsv, .txt or .xlsx)", id="sync-path"
            )
            yield Static("", id="sync-progress", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Browse files", id="browse")
                yield Button("Show the changes", id="read", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#sync-path", Input).focus()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.workers.cancel_all()
        self.dismiss(None)

    def _say(self, text: str) -> None:
        self.query_one("#sync-progress", Static).update(text)

    @on(Button.Pressed, "#browse")
    def _browse(self) -> None:
        from tui.screens.upload import BrowseFiles

        typed = self.query_one("#sync-path", Input).value
        folder = clean_path(typed) if typed.strip() else Path.cwd()
        folder = folder if folder.is_dir() else Path.cwd()

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.query_one("#sync-path", Input).value = str(path)
                self._read()

        self.app.push_screen(BrowseFiles(folder), chosen)

    @on(Input.Submitted, "#sync-path")
    @on(Button.Pressed, "#read")
    def _read(self) -> None:
        text = self.query_one("#sync-path", Input).value
        path = clean_path(text)
        if not text.strip():
            self._say("Type or paste the path of the file, or browse files.")
        elif not path.is_file():
            self._say(f"There is no file at {path}. Check the path and try again.")
        else:
            self._say("Reading the file…")
            self.send(path)

    @work(exclusive=True, exit_on_error=False)
    @never_hangs
    async def send(self, path: Path) -> None:
        """Read and check the file, send every row as a sync, read its diff; any failure is
        said where the progress stood."""
        try:
            upload = await self._send(path)
        except asyncio.CancelledError:
            raise
        except (ApiError, ServiceUnreachableError) as error:
            self._say(error.problem.detail if isinstance(error, ApiError) else str(error))
            return
        except BaseException as error:
            if is_interrupt(error):
                raise
            self._say(failure_problem(error, READING, None).message)
            return
        if upload is not None:
            self.dismiss(upload)

    async def _send(self, path: Path) -> SyncUpload | None:
        from tui.api.syncing import every_row, start_sync, sync_target, with_file_errors
        from tui.intake.learner_file import read_learner_file

        learner_file: LearnerFile = await asyncio.to_thread(read_learner_file, path, self.limits)
        found = columns_to_choose(list(learner_file.header), learner_file.summary.file_errors)
        if found is not None:  # headers Roster does not know: the admin says which is which
            dialog = ChooseColumns(path.name, learner_file.header, found)
            columns = await self.app.push_screen_wait(dialog)
            if columns:
                read = read_learner_file
                learner_file = await asyncio.to_thread(read, path, self.limits, columns)
        if learner_file.summary.file_errors:
            self._say(_file_problem(learner_file))
            return None
        self._say(f"Sending {plural(learner_file.summary.rows, 'row')}…")
        rows = await asyncio.to_thread(every_row, learner_file)
        client = await services(self).client()
        target = sync_target(self.program, self.contract, path.name)
        import_id, diff = await start_sync(client, rows, target)
        self._say("Comparing with the program…")
        diff = await asyncio.to_thread(with_file_errors, diff, learner_file)
        return SyncUpload(self.program, self.contract, path.name, rows, import_id, diff)


def _file_problem(learner_file: LearnerFile) -> str:
    """The file's first error, which stops it before any row is sent."""
    return f"The file cannot be synced: {learner_file.summary.file_errors[0].message}"
