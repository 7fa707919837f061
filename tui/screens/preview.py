"""The preview: what the file holds and what is wrong with it, before anything is invited."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Checkbox, Footer, Header, Input, Label, Static

from tui.api.client import ApiError
from tui.intake.export import export_issues, preview_frame
from tui.intake.learner_file import LearnerFile
from tui.intake.render import describe_source
from tui.intake.report import Report
from tui.intake.table import LEARNER_FIELDS
from tui.screens.worker_errors import ForwardsWorkerErrors
from tui.widgets.preview_table import PreviewTable

if TYPE_CHECKING:
    from tui.screens.flow import BulkFlow

FILTERS = ("all", "issues", "ready")


class EditRow(ModalScreen[tuple[str, str, str] | None]):
    """Fix a row in place: its three cells, the one at fault focused."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("enter", "save", "Save and check again"),
    ]

    def __init__(self, row: dict[str, object]) -> None:
        super().__init__()
        self.row = row

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="edit-row"):
            yield Label(f"Edit row {self.row['row']}", classes="title")
            yield Static(str(self.row["issue"]) or "No issue in this row.", classes="hint")
            for name, key in LEARNER_FIELDS.items():
                yield Label(name)
                yield Input(str(self.row[key] or ""), id=key)
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        field = LEARNER_FIELDS.get(str(self.row["bad_column"]), "full_name")
        self.query_one(f"#{field}", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        values = [self.query_one(f"#{key}", Input).value for key in LEARNER_FIELDS.values()]
        self.dismiss((values[0], values[1], values[2]))

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class PreviewScreen(ForwardsWorkerErrors, Screen[None]):
    TITLE = "Preview"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("n", "next_issue", "Next issue"),
        Binding("N", "previous_issue", "Previous issue"),
        Binding("f", "cycle_filter", "Filter"),
        Binding("e", "edit", "Edit row"),
        Binding("x", "export", "Export issues"),
        Binding("m", "toggle_send", "Send emails"),
        Binding("i", "commit", "Invite"),
    ]

    def __init__(self, flow: BulkFlow, learner_file: LearnerFile, report: Report) -> None:
        super().__init__()
        self.flow = flow
        self.learner_file = learner_file
        self.report = report
        self.filter = "all"
        self.frame = preview_frame(learner_file, report)

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="preview"):
            yield Static(id="summary")
            if self.report.file_errors:
                yield Static(id="file-error")
            else:
                yield Static(id="warnings")
                yield Label(id="filter")
                yield PreviewTable(id="table")
                yield Static(id="detail")
                with Horizontal(id="commit-bar"):
                    yield Checkbox("Send invitations to new members after import", True,
                                   id="send")  # fmt: skip
                    yield Button("", id="commit", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self.show_report()
        if not self.report.file_errors:
            self.show_rows()
            self.query_one(PreviewTable).focus()

    def show_report(self) -> None:
        assert self.flow.program and self.flow.contract
        report = self.report
        source = describe_source(report)
        counts = (
            f"[b]{report.rows:,}[/b] rows uploaded · [green]{report.ready:,} ready[/green] · "
            f"[red]{report.errors:,} with errors[/red] · {report.skipped:,} skipped"
            + (f" · {report.blank_rows_skipped:,} blank rows skipped"
               if report.blank_rows_skipped else "")
        )  # fmt: skip
        self.query_one("#summary", Static).update(
            f"Program: [b]{self.flow.program.name}[/b]    "
            f"Contract: [b]{self.flow.contract.name}[/b]\n"
            f"File: [b]{report.file}[/b]"
            + (f" — {source}" if source else "")
            + "\n"
            + ("" if report.file_errors else counts)
        )
        if report.file_errors:
            self.query_one("#file-error", Static).update(
                "[b red]This file cannot be imported[/b red]\n\n"
                + "\n\n".join(f"✗ {error.message}" for error in report.file_errors)
                + "\n\nFix the file, then press escape to upload it again."
            )
            return
        warnings = "\n".join(f"! {warning.message}" for warning in report.file_warnings)
        self.query_one("#warnings", Static).update(warnings)
        self.query_one("#warnings", Static).display = bool(warnings)
        self.update_button()

    def update_button(self) -> None:
        send = self.query_one("#send", Checkbox).value
        ready = self.report.ready
        learners = "learner" if ready == 1 else "learners"
        label = (
            f"Send invitations to {ready:,} {learners}"
            if send
            else f"Create invitations for {ready:,} {learners}"
        )
        button = self.query_one("#commit", Button)
        button.label = label
        button.disabled = ready == 0

    def shown(self) -> pl.DataFrame:
        if self.filter == "issues":
            return self.frame.filter(pl.col("status") != "ready")
        if self.filter == "ready":
            return self.frame.filter(pl.col("status") == "ready")
        return self.frame

    def show_rows(self, cursor: int = 0) -> None:
        shown = self.shown()
        self.query_one(PreviewTable).show(shown, cursor)
        names = {"all": "all rows", "issues": "rows with issues", "ready": "ready rows"}
        self.query_one("#filter", Label).update(
            f"Showing {names[self.filter]} ({shown.height:,}) — f: filter, n/N: next/previous "
            "issue, e: edit, x: export issues"
        )
        self.show_detail()

    @on(PreviewTable.CursorMoved)
    def show_detail(self) -> None:
        row = self.query_one(PreviewTable).current_row
        detail = self.query_one("#detail", Static)
        if row is None:
            detail.update("No rows to show.")
        elif row["issue"]:
            detail.update(f"Row {row['row']}: {row['issue']}")
        else:
            detail.update(f"Row {row['row']}: ready to invite.")

    def action_back(self) -> None:
        self.dismiss(None)

    def action_cycle_filter(self) -> None:
        if not self.report.file_errors:
            self.filter = FILTERS[(FILTERS.index(self.filter) + 1) % len(FILTERS)]
            self.show_rows()

    def _jump(self, forward: bool) -> None:
        if self.report.file_errors:
            return
        table = self.query_one(PreviewTable)
        indexed = table.frame.with_row_index("index").filter(pl.col("status") != "ready")
        after = indexed.filter(
            pl.col("index") > table.cursor if forward else pl.col("index") < table.cursor
        )
        if after.height == 0:
            self.notify("No more issues in this direction.", timeout=2)
            return
        table.cursor = int(after["index"][0 if forward else -1])

    def action_next_issue(self) -> None:
        self._jump(forward=True)

    def action_previous_issue(self) -> None:
        self._jump(forward=False)

    def action_toggle_send(self) -> None:
        if not self.report.file_errors:
            box = self.query_one("#send", Checkbox)
            box.value = not box.value

    @on(Checkbox.Changed, "#send")
    def _send_changed(self) -> None:
        self.update_button()

    def action_export(self) -> None:
        if self.report.file_errors:
            return
        if self.frame.filter(pl.col("status") != "ready").height == 0:
            self.notify("No rows with issues to export.")
            return
        path = export_issues(self.frame, self.learner_file.path or Path(self.report.file))
        self.notify(f"Exported the rows with issues to {path}", title="Export")

    def action_edit(self) -> None:
        table = self.query_one(PreviewTable) if not self.report.file_errors else None
        row = table.current_row if table else None
        if row is None:
            return

        def edited(values: tuple[str, str, str] | None) -> None:
            if values is not None:
                self.recheck(int(str(row["row"])), values)

        self.app.push_screen(EditRow(row), edited)

    @work(exclusive=True, group="recheck", exit_on_error=False)
    async def recheck(self, row: int, values: tuple[str, str, str]) -> None:
        """Re-validate after an edit: the file rules over all rows, then the service's."""
        from tui.api.importer import dry_run

        assert self.flow.program and self.flow.contract
        full_name, email, external_id = (value.strip() for value in values)
        learners = self.learner_file.learners.with_columns(
            pl.when(pl.col("row") == row).then(pl.lit(full_name)).otherwise("full_name")
            .alias("full_name"),
            pl.when(pl.col("row") == row).then(pl.lit(email)).otherwise("email").alias("email"),
            pl.when(pl.col("row") == row).then(pl.lit(external_id)).otherwise("external_id")
            .alias("external_id"),
        )  # fmt: skip
        learner_file = await asyncio.to_thread(self.learner_file.recheck, learners)
        client = await self.app.client()  # type: ignore[attr-defined]
        try:
            report = await dry_run(client, learner_file, self.flow.program.id,
                                   self.flow.contract.id)  # fmt: skip
        except ApiError as error:
            self.notify(error.problem.detail, severity="error")
            return
        self.learner_file, self.report = learner_file, report
        self.frame = preview_frame(learner_file, report)
        cursor = self.query_one(PreviewTable).cursor
        self.show_report()
        self.show_rows(cursor)
        self.notify(f"Row {row} checked again.", timeout=2)

    @on(Button.Pressed, "#commit")
    def action_commit(self) -> None:
        if self.report.file_errors or self.report.ready == 0:
            return
        send = self.query_one("#send", Checkbox).value
        self.flow.commit(self.learner_file, self.report, self.frame, send)
