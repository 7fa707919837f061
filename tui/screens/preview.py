"""The preview: what the file holds and what is wrong with it, before anything is invited."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Checkbox, Footer, Header, Input, Label, Static, TextArea

from tui.api.client import ApiError, ServiceUnreachableError
from tui.api.importer import Choices
from tui.intake.export import errors_file_for, export_issues, preview_frame
from tui.intake.learner_file import LearnerFile
from tui.intake.render import describe_source
from tui.intake.report import Report
from tui.intake.table import LEARNER_FIELDS
from tui.screens.roster_app import roster_app
from tui.screens.worker_errors import ForwardsWorkerErrors
from tui.text import noun, plural
from tui.widgets.preview_table import PreviewTable
from tui.wire.models import MAX_MESSAGE

if TYPE_CHECKING:
    from tui.screens.flow import BulkFlow

FILTERS = ("all", "issues", "ready")
# A commit of more invitations than this asks first, naming the count, program and contract.
ASK_ABOVE = 1_000


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


class WriteMessage(ModalScreen[str | None]):
    """The admin's own words for the invitation emails: plain text, lines kept, at most
    MAX_MESSAGE characters; every email of the import carries them."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("ctrl+s", "save", "Save", priority=True),
    ]

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="write-message"):
            yield Label("Your message to the learners", classes="title")
            yield Static(
                "Plain text, shown in each invitation email under the invitation. Empty: no "
                "message.",
                classes="hint",
            )
            yield TextArea(self.message, id="message-text", soft_wrap=True, show_line_numbers=False)
            yield Static(id="message-count", classes="hint")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        area = self.query_one(TextArea)
        area.focus()
        area.move_cursor(area.document.end)
        self._count()

    @on(TextArea.Changed)
    def _count(self) -> None:
        length = len(self.query_one(TextArea).text.strip())
        over = length > MAX_MESSAGE
        self.query_one("#message-count", Static).update(
            f"[red]{length:,} characters: at most {MAX_MESSAGE:,}.[/red]"
            if over
            else f"{length:,} of {MAX_MESSAGE:,} characters · ctrl+s saves"
        )
        self.query_one("#save", Button).disabled = over

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        text = self.query_one(TextArea).text.strip()
        if len(text) <= MAX_MESSAGE:
            self.dismiss(text)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class PreviewScreen(ForwardsWorkerErrors, Screen[None]):
    TITLE = "Preview"
    # The footer shows them in this order, the ones that matter first; a file that cannot be
    # read has only Back (check_action).
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("i", "commit", "Invite"),
        Binding("m", "toggle_send", "Send emails"),
        Binding("p", "write_message", "Message"),
        Binding("u", "toggle_update", "Update learners", show=False),
        Binding("n", "next_issue", "Next issue"),
        Binding("N", "previous_issue", "Previous issue", show=False),
        Binding("e", "edit", "Edit row"),
        Binding("d", "leave_out", "Leave out"),
        Binding("f", "cycle_filter", "Filter"),
        Binding("x", "export", "Export"),
    ]
    # Which rows the table shows: all, those with issues, or the ready ones (f cycles).
    filter: reactive[str] = reactive("all", init=False)
    # The admin's own words for the emails ("" for none).
    message: reactive[str] = reactive("", init=False)

    def __init__(
        self,
        flow: BulkFlow,
        learner_file: LearnerFile,
        report: Report,
        frame: pl.DataFrame,
    ) -> None:
        """`learner_file` is the file as read (an edit checks it again), `report` the counts
        and file problems with the service's checks (its issues are in `frame`), and `frame`
        the `preview_frame` of the file checked by the service, built off the event loop."""
        super().__init__()
        self.flow = flow
        self.learner_file = learner_file
        self.report = report
        self.frame = frame

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action == "back" or self.has_rows

    def watch_filter(self) -> None:
        self.show_rows()

    def watch_message(self) -> None:
        self.show_message()

    def show_message(self) -> None:
        if not self.has_rows:
            return
        line, more, _ = self.message.partition("\n")
        self.query_one("#message", Static).update(
            f"Message: [b]{escape(line)}[/b]{' …' if more else ''} · p changes it"
            if self.message
            else "No message of your own in the emails · p writes one"
        )

    @property
    def differing(self) -> int:
        """Rows whose stored learner has another Full Name or External ID than the file's."""
        return self.report.differing

    def show_update(self) -> None:
        box = self.query_one("#update", Checkbox)
        box.display = bool(self.differing)
        box.label = (
            f"Update {plural(self.differing, 'stored learner')} to the file's Full Name and "
            "External ID (u)"
        )

    @property
    def has_rows(self) -> bool:
        """False when the file itself cannot be read: there are no rows to show. The service's
        file errors (not enough seats, the contract) keep the rows, to be trimmed in place."""
        return not self.learner_file.summary.file_errors

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="preview"):
            yield Static(id="summary")
            if not self.has_rows:
                yield Static(id="file-error")
            else:
                yield Static(id="warnings")
                yield Static(id="service-error")
                yield Label(id="filter")
                yield PreviewTable(id="table")
                yield Static(id="detail")
                yield Static(id="message")
                yield Checkbox(id="update")
                with Horizontal(id="commit-bar"):
                    yield Checkbox("Send invitations to new members after import", True, id="send")
                    yield Button("", id="commit", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self.show_report()
        if self.has_rows:
            self.show_rows()
            self.query_one(PreviewTable).focus()

    def show_report(self) -> None:
        assert self.flow.program and self.flow.contract
        report = self.report
        source = describe_source(report)
        counts = (
            f"[b]{report.rows:,}[/b] {noun(report.rows, 'row')} uploaded · "
            f"[green]{report.ready:,} ready[/green] · "
            f"[red]{report.errors:,} with errors[/red] · {report.skipped:,} skipped"
            + (
                f" · {plural(report.blank_rows_skipped, 'blank row')} skipped"
                if report.blank_rows_skipped
                else ""
            )
        )
        self.query_one("#summary", Static).update(
            f"Program: [b]{self.flow.program.name}[/b]    "
            f"Contract: [b]{self.flow.contract.name}[/b]\n"
            f"File: [b]{report.file}[/b]"
            + (f" — {source}" if source else "")
            + "\n"
            + (counts if self.has_rows else "")
        )
        if not self.has_rows:
            self.query_one("#file-error", Static).update(
                "[b red]This file cannot be imported[/b red]\n\n"
                + "\n\n".join(f"✗ {error.message}" for error in report.file_errors)
                + "\n\nFix the file, then press escape to upload it again."
            )
            return
        warnings = "\n".join(f"! {warning.message}" for warning in report.file_warnings)
        self.query_one("#warnings", Static).update(warnings)
        self.query_one("#warnings", Static).display = bool(warnings)
        refused = "\n".join(f"✗ {error.message}" for error in report.file_errors)
        if refused:
            refused += "\nLeave rows out with d (or edit them with e), or go back and choose "
            refused += "another contract."
        self.query_one("#service-error", Static).update(refused)
        self.query_one("#service-error", Static).display = bool(refused)
        self.show_message()
        self.show_update()
        self.update_button()

    def update_button(self) -> None:
        send = self.query_one("#send", Checkbox).value
        ready = self.report.ready
        label = (
            f"Send invitations to {plural(ready, 'learner')}"
            if send
            else f"Create invitations for {plural(ready, 'learner')}"
        )
        button = self.query_one("#commit", Button)
        button.label = label
        button.disabled = ready == 0 or bool(self.report.file_errors)

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
            f"Showing {names[self.filter]} ({shown.height:,}) · f changes what is shown, "
            "N goes to the previous issue"
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
        if self.has_rows:
            self.filter = FILTERS[(FILTERS.index(self.filter) + 1) % len(FILTERS)]

    def _jump(self, forward: bool) -> None:
        if not self.has_rows:
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
        if self.has_rows:
            box = self.query_one("#send", Checkbox)
            box.value = not box.value

    @on(Checkbox.Changed, "#send")
    def _send_changed(self) -> None:
        self.update_button()

    def action_toggle_update(self) -> None:
        if self.has_rows and self.differing:
            box = self.query_one("#update", Checkbox)
            box.value = not box.value

    def action_write_message(self) -> None:
        if not self.has_rows:
            return

        def written(text: str | None) -> None:
            if text is not None:
                self.message = text

        self.app.push_screen(WriteMessage(self.message), written)

    def action_export(self) -> None:
        if not self.has_rows:
            return
        if self.frame.filter(pl.col("status") != "ready").height == 0:
            self.notify("No rows with issues to export.")
            return
        from tui.screens.save_as import SaveAs

        source = self.learner_file.path or Path(self.report.file)
        suggested = errors_file_for(source)

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.export(self.frame, path)

        self.app.push_screen(SaveAs("Export the rows with issues", suggested), chosen)

    @work(thread=True, exit_on_error=False)
    def export(self, frame: pl.DataFrame, path: Path) -> None:
        """Write the rows with issues (a thread: a million rows take a while); the admin chose
        the path, and to replace the file if it was there."""
        try:
            export_issues(frame, path, replace=True)
        except OSError as error:
            self.app.call_from_thread(
                self.notify, f"Cannot write {path}: {error.strerror}.", severity="error"
            )
            return
        self.app.call_from_thread(
            self.notify, f"Exported the rows with issues to {path}", title="Export"
        )

    def action_edit(self) -> None:
        row = self.query_one(PreviewTable).current_row if self.has_rows else None
        if row is None:
            return
        number = int(str(row["row"]))

        def edited(values: tuple[str, str, str] | None) -> None:
            if values is not None:
                cells = dict(zip(LEARNER_FIELDS.values(), values, strict=True))
                learners = self.learner_file.learners.with_columns(
                    pl.when(pl.col("row") == number)
                    .then(pl.lit(value.strip()))
                    .otherwise(pl.col(field))
                    .alias(field)
                    for field, value in cells.items()
                )
                self.recheck(learners, f"Row {number} checked again.")

        self.app.push_screen(EditRow(row), edited)

    def action_leave_out(self) -> None:
        """Take the highlighted row out of this import (the file itself is not changed)."""
        row = self.query_one(PreviewTable).current_row if self.has_rows else None
        if row is None:
            return
        number = int(str(row["row"]))
        learners = self.learner_file.learners.filter(pl.col("row") != number)
        if learners.height == 0:
            self.notify("This is the only row; go back to upload another file.", timeout=3)
            return
        self.recheck(learners, f"Row {number} left out; the others checked again.")

    @work(exclusive=True, group="recheck", exit_on_error=False)
    async def recheck(self, learners: pl.DataFrame, done: str) -> None:
        """Check the edited rows again as a whole: the file rules, then the service's."""
        from tui.api.importer import dry_run

        assert self.flow.program and self.flow.contract
        table = self.query_one(PreviewTable)
        table.loading = True
        self.query_one("#filter", Label).update("Checking the file again…")
        try:
            learner_file = await asyncio.to_thread(self.learner_file.recheck, learners)
            client = await roster_app(self).client()
            checked = await dry_run(client, learner_file, self.flow.program, self.flow.contract.id)
        except (ApiError, ServiceUnreachableError) as error:
            detail = error.problem.detail if isinstance(error, ApiError) else str(error)
            self.notify(detail, severity="error")
            self.show_rows(table.cursor)  # the rows as they were, not "Checking the file again…"
            return
        finally:
            table.loading = False
        self.learner_file, self.report = learner_file, checked.summary
        self.frame = await asyncio.to_thread(preview_frame, checked)
        self.show_report()
        self.show_rows(table.cursor)
        self.notify(done, timeout=2)

    @on(Button.Pressed, "#commit")
    def action_commit(self) -> None:
        if not self.has_rows or self.report.file_errors or self.report.ready == 0:
            return
        assert self.flow.program and self.flow.contract
        send = self.query_one("#send", Checkbox).value
        choices = Choices(
            send_emails=send,
            message=self.message or None,
            update_learners=bool(self.differing) and self.query_one("#update", Checkbox).value,
        )
        learner_file, report, frame = self.learner_file, self.report, self.frame

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.flow.commit(learner_file, report, frame, choices)

        if report.ready <= ASK_ABOVE:
            confirmed(True)
            return
        action = "Send invitations to" if send else "Create invitations (no emails) for"
        self.app.push_screen(
            ConfirmCommit(
                f"{action} {plural(report.ready, 'learner')} in [b]{self.flow.program.name}[/b], "
                f"on the contract [b]{self.flow.contract.name}[/b]?",
                str(self.query_one("#commit", Button).label),
            ),
            confirmed,
        )


class ConfirmCommit(ModalScreen[bool]):
    """The question before a large commit: how many, where, on which contract."""

    BINDINGS = [Binding("escape", "dismiss(False)", "Cancel")]

    def __init__(self, question: str, action: str) -> None:
        super().__init__()
        self.question = question
        self.action = action

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="confirm-commit"):
            yield Label("Invite all these learners?", classes="title")
            yield Static(self.question, id="question")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(self.action, id="confirm", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#confirm", Button).focus()

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(False)
