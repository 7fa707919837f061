"""Progress while the import commits and the emails go out, then the completion dialog.

The import runs in a worker of the app, not of the dialog: "Keep working" (or escape) closes
the dialog while the rows upload or the invitations are written, and the import goes on; the
Imports page shows it, and a notification says how it ended.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import polars as pl
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widgets import Button, Label, ProgressBar, Static

from tui.api.client import ApiError, RosterClient, ServiceUnreachableError
from tui.api.commit_progress import PhaseClock, commit_line
from tui.api.importer import (
    Choices,
    email_phase,
    failed_emails,
    failures_text,
    keep_left_out,
    not_sent,
    ready_rows,
    run_import,
    wait_for_emails,
)
from tui.intake.learner_file import LearnerFile
from tui.intake.report import Report
from tui.outcome import is_interrupt
from tui.screens.services import services
from tui.screens.worker_errors import ForwardsWorkerErrors, described, never_hangs
from tui.text import noun, plural
from tui.widgets.buttons import relabel
from tui.widgets.footer import Footer
from tui.wire import models as wire

# The app's workers that run an import until it is committed (the app asks before quitting).
IMPORTING = "import"
# Why rows were skipped, for one row and for several.
SKIP_NAMES = {
    "already_invited": ("already invited", "already invited"),
    "already_member": ("already a member", "already members"),
}


class ImportProgress(ForwardsWorkerErrors, ModalScreen[wire.ImportStatus | None]):
    BINDINGS = [
        Binding("escape", "close", "Close", show=False),
        Binding("r", "retry", "Retry", show=False),
    ]
    # Closed by "Keep working" while the import ran on: it ends on its own, and says so.
    left = False
    # The import's status once its invitations are committed: from then on the dialog may close
    # and the emails go on.
    committed: reactive[wire.ImportStatus | None] = reactive(None, init=False)

    def __init__(
        self,
        program: wire.Program,
        contract: wire.Contract,
        learner_file: LearnerFile,
        choices: Choices,
    ) -> None:
        super().__init__()
        self.program = program
        self.contract = contract
        self.learner_file = learner_file
        self.choices = choices
        self.clock = PhaseClock()
        # The import's Idempotency-Key: Retry after no answer finds the same import (the rows
        # already uploaded, or the import already committed), never a second one.
        self.key = str(uuid.uuid4())

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="progress"):
            yield Label("Importing learners…", classes="title", id="progress-title")
            # A Static: a failure's whole reason wraps within the dialog, never cut at its edge.
            yield Static("Uploading rows", id="phase", markup=False)
            yield ProgressBar(id="bar", show_eta=False)
            yield Static("", id="counts")
            with Horizontal(classes="buttons"):
                yield Button("Keep working", id="leave")
                yield Button("Retry", id="retry", variant="warning")
                yield Button("Close", id="close", variant="primary", disabled=True)

    def on_mount(self) -> None:
        self.query_one("#retry", Button).display = False
        self.run_import()

    def run_import(self) -> None:
        """The import until it is committed, in a worker of the app (group `IMPORTING`):
        closing the dialog does not stop it."""
        self.app.run_worker(self._import(), group=IMPORTING, exit_on_error=False)

    def _progress(self, phase: str, done: int, total: int) -> None:
        if self.left:
            return
        self.query_one("#phase", Static).update(phase)
        self.query_one("#bar", ProgressBar).update(total=max(total, 1), progress=done)
        self.query_one("#counts", Static).update(f"{done:,} of {total:,}")

    def _committing(self, rows: int) -> None:
        """The service turns the uploaded rows into invitations; its phases follow."""
        if self.left:
            return
        self.query_one("#phase", Static).update("Creating invitations")
        self.query_one("#bar", ProgressBar).update(total=None)
        self.query_one("#counts", Static).update(
            f"{plural(rows, 'row')} uploaded; the service checks them once more and writes "
            "the invitations. Keep working closes this: the import goes on."
        )

    def commit_heard(self, progress: wire.CommitProgress | None) -> None:
        """The commit's phase and counts as the service tells them, with the time left."""
        if self.left:
            return
        left = self.clock.heard(progress)
        self.query_one("#phase", Static).update(commit_line(progress, left))
        bar = self.query_one("#bar", ProgressBar)
        if progress is None or not progress.total:
            bar.update(total=None)
        else:
            bar.update(total=progress.total, progress=progress.done)

    @never_hangs
    async def _import(self) -> None:
        try:
            client = await services(self).client()
        except BaseException as error:  # said here: the app's worker forwards no failure
            self._failed(error)
            return
        if not self.left:
            self.query_one("#phase", Static).update("Preparing the rows")
        try:
            rows = await asyncio.to_thread(never_hangs(ready_rows), self.learner_file)
        except Exception as error:  # a library's panic included (never_hangs)
            self._stopped(
                "The import did not happen",
                f"Roster failed while preparing the rows: {error}. Nothing was sent. Check "
                "the file again; if this comes back, report this message with the file.",
            )
            return
        try:
            status = await run_import(
                client,
                rows,
                program_id=self.program.id,
                contract_id=self.contract.id,
                choices=self.choices,
                file_name=self.learner_file.summary.file,
                key=self.key,
                on_upload=lambda done, total: self._progress("Uploading rows", done, total),
                on_commit=self._committing,
                unsent=not_sent(self.learner_file),
                on_commit_progress=self.commit_heard,
            )
            await self._keep_left_out(client, status)
        except BaseException as error:  # a fault in Roster or a library, a native panic too
            self._failed(error)
            return
        if self.left:
            self._ended_unseen(status)
        elif status.emails_queued:
            # The invitations exist now; the emails go out whether or not the admin waits (the
            # dialog's own worker follows them: the import is over).
            self.committed = status
            self.follow_emails(client, status)
        else:
            self.dismiss(status)

    @work(exclusive=True, exit_on_error=False)
    @never_hangs
    async def follow_emails(self, client: RosterClient, status: wire.ImportStatus) -> None:
        def sending(now: wire.ImportStatus) -> None:
            self.committed = now
            self._progress(email_phase(now), now.emails_sent + now.emails_failed, now.emails_queued)

        try:
            status = await wait_for_emails(client, status, sending)
        except BaseException as error:
            self._failed(error)
            return
        self.dismiss(status)

    def _failed(self, error: BaseException) -> None:
        """Say why the import or the following of its emails stopped; a cancel or a deliberate
        stop goes on as it is."""
        if is_interrupt(error) or isinstance(error, asyncio.CancelledError):
            raise error
        if self.committed is not None:  # the invitations exist; their emails go on without us
            if isinstance(error, ApiError):
                reason = error.problem.detail
            elif isinstance(error, ServiceUnreachableError):
                reason = str(error)
            else:
                reason = f"Roster failed: {described(error)}."
            self._stopped(
                "Following the emails stopped",
                f"{reason} The invitations were created; the Imports page shows their emails.",
            )
            return
        if isinstance(error, ServiceUnreachableError):
            if self.left:  # no dialog, no Retry: the file again does the same
                then = "Import the file again: learners already invited are skipped."
            else:
                then = "Retry goes on with the same import: no learner is invited twice."
            self._stopped("The import did not finish", f"{error} {then}")
            return
        if isinstance(error, ApiError):
            self.key = str(uuid.uuid4())  # refused: Retry starts a new import
            self._stopped("The import did not happen", error.problem.detail)
            return
        self._stopped(
            "The import stopped",
            f"Roster failed while importing: {described(error)}. The Imports page shows "
            "whether the invitations were created; importing the same file again invites no "
            "one twice.",
        )

    def _ended_unseen(self, status: wire.ImportStatus) -> None:
        """The import ended after the dialog was closed: a notification says how."""
        file = self.learner_file.summary.file
        if status.status == "committed":
            self.app.notify(
                f"The import of {file} is complete: "
                f"{plural(status.invited, 'invitation')} created. The Imports page has it.",
                title="Import complete",
                markup=False,
            )
        else:
            self.app.notify(
                f"The import of {file} is {status.status}. The Imports page has it.",
                title="Import ended",
                severity="warning",
                markup=False,
            )

    def _stopped(self, title: str, detail: str) -> None:
        """The import ended without its outcome: say why in full, stop the bar, and let the
        admin retry or close."""
        if self.left:
            self.app.notify(detail, title=title, severity="error", markup=False, timeout=30)
            return
        self.query_one("#leave", Button).display = False
        self.query_one("#progress-title", Label).update(title)
        self.query_one("#phase", Static).update(Content(detail))
        bar = self.query_one("#bar", ProgressBar)
        if bar.total is None:  # the commit's pulse: still, and empty
            bar.update(total=1, progress=0)
        self.query_one("#close", Button).disabled = False
        if self.committed is None:
            retry = self.query_one("#retry", Button)
            retry.display = True
            retry.focus()
        else:  # the invitations exist: what stopped is the wait for their emails
            self.query_one("#close", Button).focus()

    @on(Button.Pressed, "#retry")
    def action_retry(self) -> None:
        """The import again: with the same key after no answer (the same import), a new one
        after a refusal; rows already invited are skipped either way."""
        retry = self.query_one("#retry", Button)
        if not retry.display:
            return
        retry.display = False
        self.query_one("#leave", Button).display = True
        self.query_one("#progress-title", Label).update("Importing learners…")
        self.query_one("#close", Button).disabled = True
        self.clock = PhaseClock()  # the time left from this attempt's pace, not the last one's
        self.run_import()

    def watch_committed(
        self, before: wire.ImportStatus | None, now: wire.ImportStatus | None
    ) -> None:
        if before is None and now is not None:
            self.query_one("#leave", Button).display = False
            close = self.query_one("#close", Button)
            relabel(close, "Close (emails go on)")
            close.disabled = False

    async def _keep_left_out(self, client: RosterClient, status: wire.ImportStatus) -> None:
        """The rows not invited, kept by the service for the Imports page; the import stands
        whether or not this works."""
        try:
            await keep_left_out(client, self.learner_file, status)
        except (ApiError, ServiceUnreachableError) as error:
            self.notify(
                f"The rows left out were not kept with the import: {error}",
                severity="warning",
                markup=False,
            )

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        """Close: after a failure, or while emails are still being sent (the import is done);
        before that, escape leaves the import running (`leave`)."""
        if self.query_one("#close", Button).disabled:
            self.leave()
            return
        self.workers.cancel_all()  # the emails go on; this stops following them
        self.dismiss(self.committed)

    @on(Button.Pressed, "#leave")
    def leave(self) -> None:
        """Close the dialog and keep working while the import goes on."""
        self.left = True
        self.app.notify(
            "The import goes on; the Imports page shows its progress, and a notification "
            "says when it is complete.",
            title="Import running",
            markup=False,
        )
        self.dismiss(None)


# The rows an import did not invite: the error file holds these, not the invited ones.
NOT_INVITED = ("error", "skipped", "left_out")


class CompletionDialog(ForwardsWorkerErrors, ModalScreen[None]):
    """Import complete: what was created, what was sent, what was left out and where to find it."""

    BINDINGS = [
        Binding("enter", "close", "Close"),
        Binding("escape", "close", "Close", show=False),
        Binding("s", "resend_failed", "Resend failed emails"),
    ]

    def __init__(
        self,
        status: wire.ImportStatus,
        report: Report,
        frame: pl.DataFrame,
        source: Path | None,
    ) -> None:
        super().__init__()
        self.status = status
        self.report = report
        self.frame = frame
        self.source = source

    def compose(self) -> ComposeResult:
        status = self.status
        lines = [
            Content.from_markup(
                f"[b]{status.invited:,}[/b] {noun(status.invited, 'invitation')} created."
            )
        ]
        if status.send_emails:
            sent = status.emails_sent
            lines.append(
                Content.from_markup(
                    f"[b]{sent:,}[/b] invitation {noun(sent, 'email')} sent."
                    + (
                        f" [red]{status.emails_failed:,} failed.[/red]"
                        if status.emails_failed
                        else ""
                    )
                )
            )
            waiting = status.emails_queued - status.emails_sent - status.emails_failed
            if waiting:
                why = f" (the mail server: {status.email_problem})" if status.email_problem else ""
                keeps = (
                    "Roster sends them only while it runs; after you quit, `roster worker` does."
                    if services(self).sends_mail_itself
                    else "Roster keeps sending them while it runs."
                )
                lines.append(Content(f"{plural(waiting, 'email')} still queued{why}: {keeps}"))
        else:
            lines.append(Content("No emails were sent: the invitations were created without them."))
        differ = sum(1 for issue in status.issues if issue.code == "learner_differs")
        if differ:
            lines.append(
                Content(f"{plural(differ, 'stored learner')} ")
                + (
                    "took the file's Full Name and External ID."
                    if status.update_learners
                    else "kept the stored Full Name and External ID (the file's differ)."
                )
            )
        skipped = sum(status.skipped.values())
        if skipped:
            why = ", ".join(
                plural(count, *SKIP_NAMES.get(code, (code, code)))
                for code, count in status.skipped.items()
            )
            lines.append(
                Content(f"{plural(skipped, 'row')} skipped ({why}): no second invitation.")
            )
        counts = status.counts
        if counts.warnings or counts.not_invited:
            lines.append(Content(f"Rows: {counts.line(committed=True)}."))
        self.lines = lines
        with Vertical(classes="dialog", id="completion"):
            yield Label("Import complete", classes="title")
            yield Static(Content("\n").join(lines), id="completion-text")
            with Horizontal(classes="buttons"):
                yield Button("Close", id="close", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()
        if self.source is not None and self.frame["status"].is_in(NOT_INVITED).any():
            self.write_error_file(self.source)
        if self.status.emails_failed:
            self.name_failures()

    @work(exit_on_error=False)
    @never_hangs
    async def name_failures(self) -> None:
        """Which emails failed and why, and how to send them again."""
        client = await services(self).client()
        failed = await failed_emails(client, self.status)
        # The last line names the command; here a key does it.
        lines = [
            *failures_text(self.status, failed)[:-1],
            "Once the cause is fixed, press s to send them again.",
        ]
        self._add_line(Content.from_markup("[red]Emails that failed:[/red]\n") + "\n".join(lines))

    @work(thread=True, exit_on_error=False)
    @never_hangs
    def write_error_file(self, source: Path) -> None:
        """The rows with issues, written beside the file (a thread: a million rows take time)."""
        from tui.intake.export import errors_file_for, export_issues

        not_invited = self.frame.filter(pl.col("status").is_in(NOT_INVITED))
        try:
            path = export_issues(not_invited, errors_file_for(source))
            line = Content(f"The rows not invited, each with the reason, are in {path}")
        except OSError as error:
            line = Content.from_markup(
                "[red]The rows with issues could not be written: $why.[/red]", why=error.strerror
            )
        self.app.call_from_thread(self._add_line, line)

    def _add_line(self, line: Content) -> None:
        self.lines.append(line)
        self.query_one("#completion-text", Static).update(Content("\n").join(self.lines))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "resend_failed":
            return bool(self.status.emails_failed)
        return super().check_action(action, parameters)

    def action_resend_failed(self) -> None:
        """The import's failed emails sent again, in the bulk dialog that follows each one
        until it is delivered or fails again."""
        from tui.screens.bulk_progress import BulkProgress

        failed = self.status.emails_failed
        selection = wire.InvitationSelection(
            import_id=self.status.id, email_status="failed", status="pending"
        )
        label = f"The {plural(failed, 'failed email')} of this import"
        self.app.push_screen(BulkProgress("resend", "Resend", "resent", label, failed, selection))

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)
