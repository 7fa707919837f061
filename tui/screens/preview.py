"""The preview: what the file holds and what is wrong with it, before anything is invited."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import polars as pl
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Header, Input, Label, Static, TextArea

from tui.api.client import ApiError, ServiceUnreachableError
from tui.api.importer import Choices
from tui.intake.edits import can_leave_out, edit_row, is_left_out, leave_out_row
from tui.intake.export import errors_file_for, export_issues, preview_frame
from tui.intake.fields import FIELD_BY_HEADER, LEARNER_FIELDS
from tui.intake.learner_file import LearnerFile
from tui.intake.report import Report
from tui.intake.safety import CHECKING, WRITING, failure_problem
from tui.outcome import is_interrupt
from tui.screens.messages import CommitRequested
from tui.screens.services import services
from tui.screens.worker_errors import ForwardsWorkerErrors, never_hangs
from tui.text import plural
from tui.widgets.commit_bar import CommitBar
from tui.widgets.footer import Footer
from tui.widgets.preview_rows import PreviewRows
from tui.widgets.preview_summary import PreviewSummary
from tui.wire import models as wire
from tui.wire.models import MAX_MESSAGE

# A commit of more invitations than this asks first, naming the count, program and contract.
ASK_ABOVE = 1_000


class EditRow(ModalScreen[dict[str, str] | None]):
    """Fix a row in place: a field per learner field, the one at fault focused. Dismissed with
    the values by field name."""

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
            yield Static(
                str(self.row["issue"]) or "No issue in this row.", classes="hint", markup=False
            )
            for field in LEARNER_FIELDS:
                yield Label(field.header)
                yield Input(str(self.row[field.name] or ""), id=field.name)
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        at_fault = FIELD_BY_HEADER.get(str(self.row["bad_column"]), LEARNER_FIELDS[0])
        self.query_one(f"#{at_fault.name}", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        self.dismiss(
            {field.name: self.query_one(f"#{field.name}", Input).value for field in LEARNER_FIELDS}
        )

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
        Binding("d", "leave_out", "Leave out"),  # again: back in
        Binding("f", "cycle_filter", "Filter"),
        Binding("s", "export", "Save issues"),
    ]
    # The file as read: an edit checks it again.
    learner_file: reactive[LearnerFile] = reactive(
        lambda: LearnerFile(Report(file="")), always_update=True, init=False
    )
    # The counts and file problems with the service's checks (its issues are in `frame`).
    report: reactive[Report] = reactive(lambda: Report(file=""), always_update=True, init=False)
    # The `preview_frame` of the file checked by the service: the table's rows.
    frame: reactive[pl.DataFrame] = reactive(pl.DataFrame, always_update=True, init=False)

    def __init__(
        self,
        program: wire.Program,
        contract: wire.Contract,
        learner_file: LearnerFile,
        report: Report,
        frame: pl.DataFrame,
    ) -> None:
        """The preview of `learner_file` for `program` on `contract`; `frame` is built off the
        event loop."""
        super().__init__()
        self.program = program
        self.contract = contract
        self.set_reactive(PreviewScreen.learner_file, learner_file)
        self.set_reactive(PreviewScreen.report, report)
        self.set_reactive(PreviewScreen.frame, frame)

    @property
    def has_rows(self) -> bool:
        """False when the file itself cannot be read: there are no rows to show. The service's
        file errors (not enough seats, the contract) keep the rows, to be trimmed in place."""
        return not self.learner_file.summary.file_errors

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action == "back" or self.has_rows

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="preview"):
            yield PreviewSummary(self.program.name, self.contract.name, readable=self.has_rows)
            if self.has_rows:
                yield PreviewRows()
                yield CommitBar()
        yield Footer()

    def on_mount(self) -> None:
        # Bound once the parts are mounted, so that they show the file in the first frame.
        self.query_one(PreviewSummary).data_bind(PreviewScreen.report)
        if self.has_rows:
            rows = self.query_one(PreviewRows).data_bind(PreviewScreen.frame)
            self.query_one(CommitBar).data_bind(PreviewScreen.report)
            rows.table.focus()

    def action_back(self) -> None:
        self.dismiss(None)

    def action_cycle_filter(self) -> None:
        if self.has_rows:
            self.query_one(PreviewRows).cycle_filter()

    def action_next_issue(self) -> None:
        self._jump(forward=True)

    def action_previous_issue(self) -> None:
        self._jump(forward=False)

    def _jump(self, *, forward: bool) -> None:
        if self.has_rows and not self.query_one(PreviewRows).jump(forward=forward):
            self.notify("No more issues in this direction.", timeout=2)

    def action_toggle_send(self) -> None:
        if self.has_rows:
            bar = self.query_one(CommitBar)
            bar.send = not bar.send

    def action_toggle_update(self) -> None:
        if self.has_rows and self.report.differing:
            bar = self.query_one(CommitBar)
            bar.update_learners = not bar.update_learners

    def action_write_message(self) -> None:
        if not self.has_rows:
            return
        bar = self.query_one(CommitBar)

        def written(text: str | None) -> None:
            if text is not None:
                bar.message = text

        self.app.push_screen(WriteMessage(bar.message), written)

    def action_export(self) -> None:
        if not self.has_rows:
            return
        if self.frame.filter(pl.col("status") != "ready").height == 0:
            self.notify("No rows with issues to export.")
            return
        from tui.screens.save_as import SaveAs

        source = self.learner_file.path or Path(self.report.file)
        frame = self.frame

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.export(frame, path)

        self.app.push_screen(SaveAs("Export the rows with issues", errors_file_for(source)), chosen)

    @work(thread=True, exit_on_error=False)
    @never_hangs
    def export(self, frame: pl.DataFrame, path: Path) -> None:
        """Write the rows with issues (a thread: a million rows take a while); the admin chose
        the path, and to replace the file if it was there."""
        try:
            export_issues(frame, path, replace=True)
        except OSError as error:
            self.app.call_from_thread(
                self.notify,
                f"Cannot write {path}: {error.strerror}.",
                severity="error",
                markup=False,
            )
            return
        except BaseException as error:  # a library's native panic included
            if is_interrupt(error):
                raise
            problem = failure_problem(error, WRITING, frame.height)
            self.app.call_from_thread(
                self.notify, problem.message, title="Export failed", severity="error", markup=False
            )
            return
        self.app.call_from_thread(
            self.notify,
            f"Exported the rows with issues to {path}",
            title="Export",
            markup=False,
        )

    def action_edit(self) -> None:
        row = self.query_one(PreviewRows).current_row if self.has_rows else None
        if row is None:
            return
        number = int(str(row["row"]))
        if row["status"] == "left_out":
            self.notify(f"Row {number} is left out: press d to put it back, then edit it.")
            return
        learner_file = self.learner_file

        def edited(values: dict[str, str] | None) -> None:
            if values is not None:
                self.recheck(
                    lambda: edit_row(learner_file, number, values), f"Row {number} checked again."
                )

        self.app.push_screen(EditRow(row), edited)

    def action_leave_out(self) -> None:
        """Leave the highlighted row out of this import, or put it back when it was left out
        (the file itself is not changed). The row stays in the table, marked left out."""
        row = self.query_one(PreviewRows).current_row if self.has_rows else None
        if row is None:
            return
        number, learner_file = int(str(row["row"])), self.learner_file
        if is_left_out(learner_file, number):
            done = f"Row {number} is back in the import; the rows checked again."
        elif not can_leave_out(learner_file):
            self.notify("This is the only row left in; go back to upload another file.", timeout=3)
            return
        else:
            done = f"Row {number} left out (d puts it back); the others checked again."
        self.recheck(lambda: leave_out_row(learner_file, number), done)

    @work(exclusive=True, group="recheck", exit_on_error=False)
    @never_hangs
    async def recheck(self, change: Callable[[], LearnerFile], done: str) -> None:
        """Make `change` to the file (a thread), then check it with the service again."""
        from tui.api.importer import dry_run

        rows = self.query_one(PreviewRows)
        rows.checking = True
        try:
            learner_file = await asyncio.to_thread(change)
            client = await services(self).client()
            checked = await dry_run(client, learner_file, self.program, self.contract.id)
            frame = await asyncio.to_thread(preview_frame, checked)
        except (ApiError, ServiceUnreachableError) as error:
            self.notify(
                error.problem.detail if isinstance(error, ApiError) else str(error),
                severity="error",
                markup=False,
            )
            return
        except asyncio.CancelledError:
            raise
        except BaseException as error:  # a library's native panic included: the rows stay
            if is_interrupt(error):
                raise
            problem = failure_problem(error, CHECKING, self.learner_file.summary.rows)
            self.notify(problem.message, title="Not checked", severity="error", markup=False)
            return
        finally:
            rows.checking = False
        self.learner_file, self.report, self.frame = learner_file, checked.summary, frame
        self.notify(done, timeout=2)

    @on(CommitBar.Pressed)
    def action_commit(self) -> None:
        report = self.report
        if not self.has_rows or report.file_errors or report.ready == 0:
            return
        bar = self.query_one(CommitBar)
        choices = Choices(
            send_emails=bar.send,
            message=bar.message or None,
            update_learners=bool(report.differing) and bar.update_learners,
        )
        request = CommitRequested(self, self.learner_file, report, self.frame, choices)

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.post_message(request)

        if report.ready <= ASK_ABOVE:
            confirmed(True)
            return
        action = "Send invitations to" if bar.send else "Create invitations (no emails) for"
        self.app.push_screen(
            ConfirmCommit(
                Content.from_markup(
                    f"{rows_said(report)}\n\n"
                    f"{action} {plural(report.ready, 'learner')} in [b]$program[/b], "
                    "on the contract [b]$contract[/b]?",
                    program=self.program.name,
                    contract=self.contract.name,
                ),
                bar.action_label,
            ),
            confirmed,
        )


def rows_said(report: Report) -> str:
    """'988,675 rows in the file: 987,193 to invite, 1,482 with errors (not sent).': the rows
    the preview counted, and where each goes, in one sentence, in the words of
    `tui.intake.counts`."""
    parts = [f"{report.ready:,} to invite"]
    if report.errors:
        parts.append(f"{report.errors:,} with errors (not sent)")
    if report.skipped:
        parts.append(f"{report.skipped:,} skipped (already invited or members)")
    if report.left_out:
        parts.append(f"{report.left_out:,} left out with d (not sent)")
    return f"{plural(report.rows, 'row')} in the file: {', '.join(parts)}."


class ConfirmCommit(ModalScreen[bool]):
    """The question before a large commit: how many, where, on which contract."""

    BINDINGS = [Binding("escape", "dismiss(False)", "Cancel")]

    def __init__(self, question: Content, action: str) -> None:
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
