"""Sync preview: every row of a sync's diff with its marker (+ invite, − remove, ~ update,
✗ error), `f` to show one group, the removal checkbox (off), and the button naming the counts.
Nothing changes before the button; escape gives the upload up."""

from __future__ import annotations

import contextlib
from itertools import cycle
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Checkbox, DataTable, Header, Label, Static

from tui.api.client import ApiError, ServiceUnreachableError
from tui.api.syncing import changes, start_sync, sync_said, sync_target
from tui.screens.pickers import ChooseContract
from tui.screens.services import services
from tui.screens.sync_file import SyncFile, SyncUpload
from tui.screens.worker_errors import ForwardsWorkerErrors, never_hangs
from tui.text import plural
from tui.widgets.buttons import relabel
from tui.widgets.footer import Footer
from tui.wire import models as wire

if TYPE_CHECKING:
    from textual.screen import Screen as AnyScreen

REMOVE_LABEL = "Remove the members and pending invitations not in the file"
# The groups `f` shows in turn: (name, markers shown).
GROUPS = (
    ("every change", "+~−✗"),
    ("to invite", "+"),
    ("to update", "~"),
    ("not in the file", "−"),
    ("errors", "✗"),
)


def sync_with_a_file(screen: AnyScreen[object], program: wire.Program) -> None:
    """Sync `program` with a file: its contract, the file, the preview; `done` on a commit."""
    settings = getattr(screen.app, "settings", None)
    limits = getattr(settings, "limits", None)

    def preview(upload: SyncUpload | None) -> None:
        if upload is not None:
            screen.app.push_screen(SyncPreview(upload))

    def file_for(contract: wire.Contract | None) -> None:
        if contract is not None:
            screen.app.push_screen(SyncFile(program, contract, limits), preview)

    screen.app.push_screen(ChooseContract(program), file_for)


class SyncPreview(ForwardsWorkerErrors, Screen[None]):
    TITLE = "Sync preview"
    AUTO_FOCUS = "#sync-rows"
    BINDINGS = [
        Binding("escape", "give_up", "Give up"),
        Binding("f", "filter", "Filter"),
        Binding("r", "toggle_remove", "Remove missing", show=False),
    ]
    DEFAULT_CSS = """
    SyncPreview #sync-rows { height: 1fr; }
    SyncPreview .title { padding: 0 1; }
    SyncPreview #sync-summary, SyncPreview #sync-problem { height: auto; padding: 0 1; }
    SyncPreview #sync-detail { height: auto; max-height: 3; padding: 0 1; color: $text-muted; }
    SyncPreview #sync-problem { color: $error; }
    SyncPreview #remove-missing { border: none; height: 1; padding: 0; margin: 0 1; }
    SyncPreview #sync-bar { height: auto; align-horizontal: right; }
    SyncPreview #sync-bar Button { width: auto; }
    """

    def __init__(self, upload: SyncUpload) -> None:
        super().__init__()
        self.upload = upload
        self.diff = upload.diff
        self._groups = cycle(GROUPS)
        self.group = next(self._groups)
        self.busy = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label(
            Content.from_markup(
                "Sync [b]$program[/b] with $file",
                program=self.upload.program.name,
                file=self.upload.file_name,
            ),
            classes="title",
        )
        yield Static(self._summary(), id="sync-summary")
        yield DataTable(id="sync-rows", cursor_type="row", zebra_stripes=True)
        yield Static("", id="sync-detail")
        yield Static("", id="sync-problem", markup=False)
        yield Checkbox(REMOVE_LABEL, False, id="remove-missing")
        with Horizontal(id="sync-bar"):
            yield Button(self._action(), id="sync-commit", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("", "Row", "Full Name", "Email", "Change")
        self._fill()
        self._offer()

    def _summary(self) -> Content:
        diff = self.diff
        return Content.from_markup(
            "[b]+ $invite[/b] to invite · [b]~ $update[/b] to update · "
            "[b]− $remove[/b] not in the file (removed only if you tick Remove) · "
            "[b]= $unchanged[/b] unchanged · [b]✗ $errors[/b] · showing $group (f)",
            invite=f"{len(diff.invite):,}",
            update=f"{len(diff.update):,}",
            remove=f"{len(diff.remove):,}",
            unchanged=f"{diff.unchanged:,}",
            errors=plural(len(diff.errors), "row") + " with errors",
            group=self.group[0],
        )

    def _removing(self) -> bool:
        return self.query_one("#remove-missing", Checkbox).value

    def _action(self, removing: bool = False) -> str:
        diff = self.diff
        removals = len(diff.remove) if removing else 0
        if not (diff.invite or diff.update or removals):
            return "Nothing to change"
        return (
            f"Sync: invite {len(diff.invite):,}, update {len(diff.update):,}, remove {removals:,}"
        )

    def _offer(self) -> None:
        button = self.query_one("#sync-commit", Button)
        label = self._action(self._removing())
        relabel(button, label)
        button.disabled = self.busy or label == "Nothing to change"

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        self.query_one("#sync-detail", Static).update("")
        shown = self.group[1]
        rows: list[tuple[str, int | None, str, str, str]] = []
        if "+" in shown:
            rows += [("+", r.row, r.full_name, r.email, "invite") for r in self.diff.invite]
        if "~" in shown:
            rows += [("~", u.row, u.full_name, u.email, changes(u)) for u in self.diff.update]
        if "−" in shown:
            status = {"member": "member", "pending": "pending invitation"}
            fate = ": to remove" if self._removing() else " (kept)"
            rows += [
                ("−", None, r.full_name, r.email, f"{status.get(r.status or '', '')}{fate}")
                for r in self.diff.remove
            ]
        if "✗" in shown:
            rows += [("✗", e.row, "", "", e.message) for e in self.diff.errors]
        rows.sort(key=lambda row: (row[1] is None, row[1] or 0))
        for marker, row, name, email, change in rows:
            table.add_row(
                marker,
                "" if row is None else str(row),
                Text(name, end=""),
                Text(email, end=""),
                Text(change, end=""),
            )

    @on(DataTable.RowHighlighted, "#sync-rows")
    def _show_detail(self, event: DataTable.RowHighlighted) -> None:
        """The highlighted row whole: its change or error is cut at 80 columns."""
        cells = self.query_one(DataTable).get_row_at(event.cursor_row)
        marker, row, name, email, change = (
            Text(str(cell)) if isinstance(cell, str) else cell for cell in cells
        )
        row_label = Text(f"row {row.plain}") if row.plain else Text()
        named = [part for part in (marker, row_label, name, email) if part.plain]
        said = Text(" ").join(named) + Text(": ") + change
        self.query_one("#sync-detail", Static).update(said)

    def action_filter(self) -> None:
        self.group = next(self._groups)
        self.query_one("#sync-summary", Static).update(self._summary())
        self._fill()

    def action_toggle_remove(self) -> None:
        box = self.query_one("#remove-missing", Checkbox)
        box.value = not box.value

    @on(Checkbox.Changed, "#remove-missing")
    def _removal_changed(self) -> None:
        self.query_one("#sync-problem", Static).update("")
        self._offer()
        self._fill()

    def action_give_up(self) -> None:
        if not self.busy:
            self.give_up()

    @work(exclusive=True, exit_on_error=False)
    @never_hangs
    async def give_up(self) -> None:
        """Drop the upload (nothing was changed) and go back."""
        client = await services(self).client()
        with contextlib.suppress(ApiError, ServiceUnreachableError):
            await client.abandon_import(self.upload.import_id)
        self.dismiss(None)

    @on(Button.Pressed, "#sync-commit")
    def _commit_pressed(self) -> None:
        if not self.busy:
            self.commit(None)

    def _set_busy(self, busy: bool, said: str = "") -> None:
        self.busy = busy
        self.query_one("#sync-problem", Static).update(said)
        self._offer()

    @work(exclusive=True, exit_on_error=False)
    @never_hangs
    async def commit(self, max_removals: int | None) -> None:
        """Commit the sync as shown; with the checkbox, as a removing sync of the same rows
        (the service refuses too many removals unless `max_removals` allows them)."""
        self._set_busy(True, "Syncing…")
        client = await services(self).client()
        try:
            import_id: int | None = self.upload.import_id
            if self._removing():
                import_id = await self._removing_sync(max_removals)
            if import_id is None:
                return
            status = await client.commit_import(import_id, self.upload.rows.height)
        except (ApiError, ServiceUnreachableError) as error:
            detail = error.problem.detail if isinstance(error, ApiError) else str(error)
            self._set_busy(False, detail)
            return
        if import_id != self.upload.import_id:  # the shown upload is given up for the other
            with contextlib.suppress(ApiError, ServiceUnreachableError):
                await client.abandon_import(self.upload.import_id)
        self.app.push_screen(SyncDone(self.upload.program, status), lambda _: self.dismiss(None))

    async def _removing_sync(self, max_removals: int | None) -> int | None:
        """The same rows sent again as a sync that removes; None when the service refuses its
        removals, which is said, with a way to allow them."""
        client = await services(self).client()
        upload = self.upload
        target = sync_target(
            upload.program,
            upload.contract,
            upload.file_name,
            remove_missing=True,
            max_removals=max_removals,
        )
        import_id, diff = await start_sync(client, upload.rows, target)
        if not diff.refusal:
            return import_id
        with contextlib.suppress(ApiError, ServiceUnreachableError):
            await client.abandon_import(import_id)
        removals = len(diff.remove)
        self._set_busy(
            False,
            f"Not synced: it would remove {removals:,} of the program's "
            f"{plural(diff.learners, 'learner')}, more than the {diff.max_removal_share:.0%} a "
            "sync removes unless you allow it.",
        )

        def answered(allow: bool | None) -> None:
            if allow:
                self.commit(removals)

        self.app.push_screen(AllowRemovals(upload.program, removals, diff.learners), answered)
        return None


class AllowRemovals(ModalScreen[bool]):
    """The question when a sync would remove more than the service's share of learners."""

    BINDINGS = [Binding("escape", "dismiss(False)", "Cancel")]

    def __init__(self, program: wire.Program, removals: int, learners: int) -> None:
        super().__init__()
        self.program = program
        self.removals = removals
        self.learners = learners

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="allow-removals"):
            yield Label("Remove this many learners?", classes="title")
            yield Static(
                Content.from_markup(
                    "This sync removes [b]$removals[/b] of the $learners learners of "
                    "[b]$program[/b]: more than a sync removes unless you allow it. "
                    "Check the file has every learner who stays.",
                    removals=f"{self.removals:,}",
                    learners=f"{self.learners:,}",
                    program=self.program.name,
                ),
                id="allow-question",
            )
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(
                    f"Allow {plural(self.removals, 'removal')}", id="allow", variant="error"
                )
        yield Footer()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "allow")


class SyncDone(ModalScreen[None]):
    """What the sync did, from its import's counts."""

    BINDINGS = [Binding("escape,enter", "dismiss(None)", "Close")]

    def __init__(self, program: wire.Program, status: wire.ImportStatus) -> None:
        super().__init__()
        self.program = program
        self.status = status

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="sync-done"):
            yield Label(f"Sync {self.status.id} complete", classes="title")
            yield Static(
                Content.from_markup(
                    "[b]$program[/b]: $said. The Imports page (h) lists it.",
                    program=self.program.name,
                    said=sync_said(self.status.sync or {}),
                ),
                id="sync-done-counts",
            )
            with Horizontal(classes="buttons"):
                yield Button("Close", id="close", variant="primary")
        yield Footer()

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(None)
