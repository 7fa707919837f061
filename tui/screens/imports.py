"""Imports: the history of every import, newest first; enter opens one's invitations.

A line per import with its counts (readable at 80 columns), and the highlighted one in full
under the table: its program and contract, who ran it, what was skipped and why.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Header, Label, Static

from tui.api.commit_progress import commit_line
from tui.api.syncing import sync_said
from tui.screens.invitations import InvitationsScreen
from tui.screens.offline import ShowsServiceState
from tui.screens.paging import LoadsAsYouGo
from tui.screens.reloading import ReloadsWhenShown
from tui.screens.services import services
from tui.screens.worker_errors import ForwardsWorkerErrors, never_hangs
from tui.text import plural
from tui.widgets.footer import Footer
from tui.wire import models as wire

# How often the page reloads while an import is open.
FOLLOW_SECONDS = 1.0
FOLLOW_OPEN_FOR = timedelta(minutes=15)
SKIPPED = {"already_invited": "already invited", "already_member": "already members"}


def skipped_text(record: wire.ImportStatus) -> str:
    return (
        ", ".join(
            f"{count:,} {SKIPPED.get(code, code)}"
            for code, count in record.skipped.items()
            if count
        )
        or "0"
    )


def emails_text(record: wire.ImportStatus) -> str:
    """The import's emails in a few words: the failed and the waiting only when there are."""
    if not record.send_emails:
        return "not sent"
    waiting = record.emails_queued - record.emails_sent - record.emails_failed
    parts = [f"{record.emails_sent:,} sent"]
    parts += [f"{record.emails_failed:,} failed"] if record.emails_failed else []
    parts += [f"{waiting:,} queued"] if waiting else []
    return ", ".join(parts)


def status_text(record: wire.ImportStatus) -> str:
    """The import's status; "committing" with its share done while its commit runs."""
    progress = record.progress
    if progress is None:
        return record.status
    if not progress.total:
        return "committing"
    return f"committing {progress.done * 100 // progress.total}%"


def import_detail(record: wire.ImportStatus) -> str:
    """What the table's line leaves out, in two lines: where the import went and who ran it,
    and what became of its rows."""
    if record.mode == "sync" and record.sync:  # a committed sync says what it changed
        return (
            f"{record.program_name} · {record.contract_name} · by {record.admin_email}\n"
            f"Sync, {record.status}: {plural(record.rows, 'row')} sent, {sync_said(record.sync)}"
        )
    if record.mode == "sync" and record.status == "abandoned":  # a dry run, or given up
        return (
            f"{record.program_name} · {record.contract_name} · by {record.admin_email}\n"
            "Sync previewed and not applied: it changed nothing."
        )
    if record.progress is not None:
        return (
            f"{record.program_name} · {record.contract_name} · by {record.admin_email}\n"
            f"Committing: {commit_line(record.progress)}"
        )
    skipped = f"; skipped: {skipped_text(record)}" if any(record.skipped.values()) else ""
    # The counts first: at 80 columns the line is cut at the end.
    return (
        f"{record.program_name} · {record.contract_name} · by {record.admin_email}\n"
        f"{record.counts.line(committed=True)} — {record.status}, "
        f"{plural(record.rows, 'row')} sent{skipped}"
    )


class ImportsScreen(
    LoadsAsYouGo, ReloadsWhenShown, ShowsServiceState, ForwardsWorkerErrors, Screen[None]
):
    TITLE = "Imports"
    AUTO_RELOAD = False  # a reload would reset the table's cursor
    AUTO_FOCUS = "#imports"
    BINDINGS = [
        Binding("enter", "open", "Its invitations"),
        Binding("s", "save_left_out", "Save rows not invited"),
        # Out of the footer, whose keys fit 80 columns as they are; ? lists it.
        Binding("r", "save_results", "Save results (a line per row)", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[int, wire.ImportStatus] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="imports", cursor_type="row", zebra_stripes=True)
        yield Static(id="import-detail")
        yield Label("", id="imports-total")
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        # The counts first, so that they fit at 80 columns (with the emails; the rows left
        # out just after, and in the detail); the rest is to the right and in the highlighted
        # import's detail.
        self.query_one(DataTable).add_columns(
            "When",
            "File",
            "Invited",
            "Skipped",
            "Errors",
            "Emails",
            "Left out",
            "Program",
            "Contract",
            "Status",
            "Rows sent",
            "By",
        )
        self.reload()
        self.set_interval(FOLLOW_SECONDS, self._follow)

    def _follow(self) -> None:
        """While an import is committing, or was started lately and is open (uploading), and
        the page is shown, reload: its progress, then its outcome. (An import whose client
        died stays open until the service abandons it: not followed for ever.)"""
        lately = datetime.now(UTC) - FOLLOW_OPEN_FOR
        if self.is_current and any(
            record.progress is not None or (record.status == "open" and record.created_at > lately)
            for record in self.records.values()
        ):
            self.reload()

    @work(exclusive=True, group="imports", exit_on_error=False)
    @never_hangs
    async def reload(self) -> None:
        page = await self.fetch(0)
        table = self.query_one(DataTable)
        highlighted = self._highlighted()  # back from an import's invitations: that import
        table.clear()
        self.records.clear()
        self.add(page)
        if highlighted is not None and str(highlighted) in table.rows:
            table.move_cursor(row=table.get_row_index(str(highlighted)))
        self.show_detail()

    async def fetch(self, offset: int) -> wire.Page[wire.ImportStatus]:
        client = await services(self).client()
        return await client.imports(offset=offset, limit=self.PAGE)

    def add(self, page: wire.Page[Any]) -> None:
        table = self.query_one(DataTable)
        for record in page.items:
            when = (record.committed_at or record.created_at).astimezone()
            self.records[record.id] = record
            table.add_row(
                f"{when:%Y-%m-%d %H:%M}",
                Text(record.file_name, end=""),
                f"{record.invited:,}",
                f"{sum(record.skipped.values()):,}",
                f"{record.errors:,}",
                emails_text(record),
                f"{record.left_out:,}",
                Text(record.program_name, end=""),
                Text(record.contract_name, end=""),
                status_text(record),
                f"{record.rows:,}",
                Text(record.admin_email, end=""),
                key=str(record.id),
            )
        self.total = page.total
        self.query_one("#imports-total", Label).update(
            f"{plural(page.total, 'import')} · enter shows an import's invitations"
        )

    def _highlighted(self) -> int | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return None if key is None else int(key)

    @on(DataTable.RowHighlighted, "#imports")
    def show_detail(self) -> None:
        import_id = self._highlighted()
        record = None if import_id is None else self.records.get(import_id)
        self.query_one("#import-detail", Static).update(
            "No imports yet." if record is None else Content(import_detail(record))
        )

    @on(DataTable.RowSelected, "#imports")
    def action_open(self) -> None:
        import_id = self._highlighted()
        if import_id is not None:
            self.app.push_screen(InvitationsScreen(import_id=import_id))

    def action_save_left_out(self) -> None:
        import_id = self._highlighted()
        if import_id is not None:
            self.save_left_out(import_id)

    @work(exclusive=True, group="left-out", exit_on_error=False)
    @never_hangs
    async def save_left_out(self, import_id: int) -> None:
        """The rows the import did not invite (with errors, skipped, left out), saved where the
        admin says in the template's layout with Error: fixed, they can be uploaded again."""
        from tui.intake.export import errors_file_for  # polars: loaded when first needed
        from tui.screens.save_as import SaveAs

        client = await services(self).client()
        rows = await client.left_out(import_id)
        if not len(rows):
            self.notify("This import invited every row (or kept none of the others).", timeout=3)
            return
        file_name = self.records[import_id].file_name or "learners.csv"
        suggested = errors_file_for(Path.cwd() / str(file_name))

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.write(rows, path)

        self.app.push_screen(
            SaveAs(f"Save the {plural(len(rows), 'row')} not invited", suggested), chosen
        )

    @work(thread=True, exit_on_error=False)
    @never_hangs
    def write(self, rows: wire.LeftOutRows, path: Path) -> None:
        import polars as pl

        from tui.intake.export import write_rows_with_errors

        self._written(
            lambda: write_rows_with_errors(pl.DataFrame(rows.model_dump()), path, replace=True),
            path,
            "the rows not invited",
        )

    def action_save_results(self) -> None:
        import_id = self._highlighted()
        if import_id is None:
            return
        if self.records[import_id].status != "committed":
            self.notify("This import was not committed: it has no results.", timeout=3)
            return
        self.save_results(import_id)

    @work(exclusive=True, group="results", exit_on_error=False)
    @never_hangs
    async def save_results(self, import_id: int) -> None:
        """The import's results, one line per row of its file with its outcome and why, saved
        where the admin says."""
        from tui.screens.save_as import SaveAs

        client = await services(self).client()
        results = await client.import_results(import_id)
        stem = Path(self.records[import_id].file_name or "learners.csv").stem
        suggested = Path.cwd() / f"{stem}-results.csv"

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.write_results(results, path)

        self.app.push_screen(
            SaveAs(
                f"Save the results of import {import_id} ({plural(len(results), 'row')})", suggested
            ),
            chosen,
        )

    @work(thread=True, exit_on_error=False)
    @never_hangs
    def write_results(self, results: wire.ImportResults, path: Path) -> None:
        from tui.api.sheets import save_import_results

        self._written(lambda: save_import_results(results, path, replace=True), path, "the results")

    def _written(self, write: Callable[[], object], path: Path, what: str) -> None:
        """Run `write` (in the worker's thread), then say where `what` went, or why not."""
        try:
            write()
        except OSError as error:
            self.app.call_from_thread(
                self.notify,
                f"Cannot write {path}: {error.strerror}.",
                severity="error",
                markup=False,
            )
            return
        self.app.call_from_thread(self.notify, f"Saved {what} to {path}", markup=False)
