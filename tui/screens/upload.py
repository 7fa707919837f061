"""Upload: save the template (and edit it), browse for the file, or type, paste or drop a path."""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DirectoryTree, Header, Input, Label, Static

from tui.api.client import ApiError, ServiceUnreachableError
from tui.intake.columns import columns_to_choose
from tui.intake.export import preview_frame
from tui.intake.learner_file import read_learner_file
from tui.intake.limits import Limits
from tui.intake.safety import CHECKING, READING, failure_problem
from tui.memory import release_free_memory
from tui.outcome import is_interrupt
from tui.screens.choose_columns import ChooseColumns
from tui.screens.messages import FileUploaded
from tui.screens.save_as import clean_path, save_template
from tui.screens.services import services
from tui.screens.worker_errors import ForwardsWorkerErrors, never_hangs
from tui.widgets.footer import Footer, HelpKeyInput
from tui.wire import models as wire

LEARNER_FILE_SUFFIXES = {".csv", ".tsv", ".txt", ".xlsx"}


class LearnerFileTree(DirectoryTree):
    """Folders, and the files Roster reads."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [
            path
            for path in paths
            if not path.name.startswith(".")
            and (path.is_dir() or path.suffix.lower() in LEARNER_FILE_SUFFIXES)
        ]


class BrowseFiles(ModalScreen[Path | None]):
    """Folders and learner files; backspace goes up a folder, typing finds a name."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Back"),
        Binding("backspace", "parent", "Parent folder"),
    ]
    FIND_PAUSE = 1.0  # seconds without a key before typing starts a new name

    def __init__(self, start: Path) -> None:
        super().__init__()
        self.start = start
        self._typed = ""
        self._typed_at = 0.0

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="browse-files"):
            yield Label("Browse files (.csv, .tsv, .txt, .xlsx)", classes="title")
            yield Static("", id="folder", classes="hint", markup=False)
            yield LearnerFileTree(self.start)
        yield Footer()

    def on_mount(self) -> None:
        self._show_folder()

    def _show_folder(self) -> None:
        tree = self.query_one(LearnerFileTree)
        self.query_one("#folder", Static).update(f"In {tree.path}  ·  backspace: parent folder")

    def action_parent(self) -> None:
        tree = self.query_one(LearnerFileTree)
        folder = Path(tree.path).resolve()
        if folder.parent != folder:
            tree.path = folder.parent
            self._show_folder()

    def on_key(self, event: events.Key) -> None:
        """Typing finds the first name starting with what was typed, as file managers do."""
        if not (event.character and event.character.isprintable() and len(event.character) == 1):
            return
        now = time.monotonic()
        self._typed = self._typed if now - self._typed_at < self.FIND_PAUSE else ""
        self._typed += event.character.casefold()
        self._typed_at = now
        tree = self.query_one(LearnerFileTree)
        for line in range(tree.last_line + 1):
            node = tree.get_node_at_line(line)
            if node is not None and str(node.label).casefold().startswith(self._typed):
                tree.move_cursor(node)
                event.stop()
                return

    @on(DirectoryTree.FileSelected)
    def _selected(self, event: DirectoryTree.FileSelected) -> None:
        self.dismiss(event.path)


class OpenInEditor(ModalScreen[bool]):
    BINDINGS = [
        Binding("y", "dismiss(True)", "Open in editor"),
        Binding("n,escape", "dismiss(False)", "Not now"),
    ]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        editor = os.environ.get("EDITOR") or os.environ.get("VISUAL") or "your editor"
        with Vertical(classes="dialog"):
            yield Label("Template saved", classes="title")
            yield Static(
                f"Saved {self.path}. Open it in {editor} now? Roster comes back when "
                "you close the editor.",
                markup=False,
            )
            with Horizontal(classes="buttons"):
                yield Button("Not now", id="no")
                yield Button("Open in editor", id="yes", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    @on(Button.Pressed)
    def _answer(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class UploadScreen(ForwardsWorkerErrors, Screen[None]):
    TITLE = "Upload"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+t", "template", "Save template"),
        Binding("ctrl+o", "browse", "Browse files"),
    ]

    def __init__(self, program: wire.Program, contract: wire.Contract, limits: Limits) -> None:
        """Upload a file for `program` on `contract`; `limits` bound what Roster reads."""
        super().__init__()
        self.program = program
        self.contract = contract
        self.limits = limits

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="upload"):
            yield Label("Upload the learner file", classes="title")
            yield Static(
                Content.from_markup(
                    "Program: [b]$program[/b]    Contract: [b]$contract[/b]",
                    program=self.program.name,
                    contract=self.contract.name,
                ),
                classes="context",
            )
            yield Static(
                "1. [b]Download the .csv template[/b] (ctrl+t) and add one row per learner. "
                "All 3 headers are required: Full Name and Email in every row; External ID is "
                "optional, but keep its header even when the column is empty.\n"
                "2. [b]Browse files[/b] (ctrl+o), or type, paste or drag the file's path below.\n"
                "3. Press [b]Upload[/b] (enter).",
                classes="hint",
            )
            yield HelpKeyInput(
                placeholder="Path to the learner file (.csv, .tsv, .txt or .xlsx)", id="path"
            )
            yield Static("", id="path-error", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Download the .csv template", id="template")
                yield Button("Browse files", id="browse")
                yield Button("Upload", id="upload-button", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#path", Input).focus()

    def action_back(self) -> None:
        self.dismiss(None)

    def _folder(self) -> Path:
        typed = self.query_one("#path", Input).value
        folder = clean_path(typed) if typed.strip() else Path.cwd()
        return (
            folder if folder.is_dir() else folder.parent if folder.parent.is_dir() else Path.cwd()
        )

    @on(Button.Pressed, "#template")
    def action_template(self) -> None:
        def saved(path: Path) -> None:
            self.query_one("#path", Input).value = str(path)

            def answer(open_it: bool | None) -> None:
                if open_it:
                    self._edit(path)

            self.app.push_screen(OpenInEditor(path), answer)

        save_template(self.app, self._folder(), saved)

    def _edit(self, path: Path) -> None:
        editor = os.environ.get("EDITOR") or os.environ.get("VISUAL") or "vi"
        with self.app.suspend():
            subprocess.run([*shlex.split(editor), str(path)], check=False)
        self.query_one("#path", Input).focus()

    @on(Button.Pressed, "#browse")
    def action_browse(self) -> None:
        def chosen(path: Path | None) -> None:
            if path is not None:
                self.query_one("#path", Input).value = str(path)
                self.upload()

        self.app.push_screen(BrowseFiles(self._folder()), chosen)

    @on(Input.Submitted, "#path")
    @on(Button.Pressed, "#upload-button")
    def upload(self) -> None:
        error = self.query_one("#path-error", Static)
        text = self.query_one("#path", Input).value
        if not text.strip():
            error.update("Type or paste the path of the learner file, or browse files (ctrl+o).")
            return
        path = clean_path(text)
        if not path.exists():
            error.update(f"There is no file at {path}. Check the path and try again.")
            return
        if path.is_dir():
            error.update(f"{path} is a folder: browse files (ctrl+o) to choose the file in it.")
            return
        error.update("Reading the file…")
        self.read(path)

    @work(exclusive=True, exit_on_error=False)
    @never_hangs
    async def read(self, path: Path) -> None:
        """Read and check the file; any failure, a native panic included, is said where
        "Reading the file…" stood, with how far it got: the upload never hangs."""
        self._reached: tuple[str, int | None] = (READING, None)
        try:
            await self._read(path)
        except asyncio.CancelledError:
            raise  # another file chosen, or the screen closed
        except BaseException as error:
            if is_interrupt(error):
                raise
            problem = failure_problem(error, *self._reached)
            self.query_one("#path-error", Static).update(problem.message)

    async def _read(self, path: Path) -> None:
        from tui.api.importer import dry_run

        learner_file = await asyncio.to_thread(read_learner_file, path, self.limits)
        found = columns_to_choose(list(learner_file.header), learner_file.summary.file_errors)
        if found is not None:
            dialog = ChooseColumns(path.name, learner_file.header, found)
            columns = await self.app.push_screen_wait(dialog)
            if columns:
                read = read_learner_file
                learner_file = await asyncio.to_thread(read, path, self.limits, columns)
        checked = learner_file
        self._reached = (CHECKING, learner_file.summary.rows)
        if not learner_file.summary.file_errors:
            self.query_one("#path-error", Static).update("Checking with the service…")
            client = await services(self).client()
            try:
                checked = await dry_run(client, learner_file, self.program, self.contract.id)
            except (ApiError, ServiceUnreachableError) as error:
                # Said where "Checking with the service…" stood, not left standing under it.
                detail = error.problem.detail if isinstance(error, ApiError) else str(error)
                self.query_one("#path-error", Static).update(detail)
                return
        frame = await asyncio.to_thread(preview_frame, checked)
        await asyncio.to_thread(release_free_memory)  # 0.1-0.2 s after a million rows
        self.query_one("#path-error", Static).update("")
        self.post_message(FileUploaded(self, learner_file, checked.summary, frame))
