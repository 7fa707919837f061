"""What a preview is of: the program, the contract, the file and its counts, then what the file
warns of and what stops its import."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from tui.intake.counts import ERRORS, LEFT_OUT, READY, SKIPPED, WARNINGS
from tui.intake.render import describe_columns, describe_source
from tui.intake.report import Report
from tui.text import noun, plural


class PreviewSummary(Vertical):
    """The summary of `report`. A file that cannot be read (`readable` False) shows its file
    errors in a box; a readable one shows its warnings and the service's refusals, which the
    admin can fix by trimming rows."""

    DEFAULT_CSS = """
    PreviewSummary { height: auto; }
    PreviewSummary #summary { height: auto; padding: 1 1 0 1; }
    PreviewSummary #warnings { height: auto; color: $warning; padding: 0 1; }
    PreviewSummary #service-error { height: auto; color: $error; padding: 0 1; }
    PreviewSummary #file-error { height: auto; padding: 1 2; margin: 1; border: round $error; }
    """

    report: reactive[Report] = reactive(lambda: Report(file=""), always_update=True, init=False)

    def __init__(self, program: str, contract: str, *, readable: bool) -> None:
        super().__init__()
        self.program = program
        self.contract = contract
        self.readable = readable

    def compose(self) -> ComposeResult:
        yield Static(id="summary")
        if self.readable:
            yield Static(id="warnings")
            yield Static(id="service-error")
        else:
            yield Static(id="file-error")

    def watch_report(self, report: Report) -> None:
        self.query_one("#summary", Static).update(self._summary(report))
        if not self.readable:
            self.query_one("#file-error", Static).update(
                Content.from_markup("[b red]This file cannot be imported[/b red]\n\n")
                + "\n\n".join(f"✗ {error.message}" for error in report.file_errors)
                + "\n\nFix the file, then press escape to upload it again."
            )
            return
        self._show("#warnings", "\n".join(f"! {w.message}" for w in report.file_warnings))
        refused = "\n".join(f"✗ {error.message}" for error in report.file_errors)
        if refused:
            refused += "\nLeave rows out with d (or edit them with e), or go back and choose "
            refused += "another contract."
        self._show("#service-error", refused)

    def _summary(self, report: Report) -> Content:
        source = describe_source(report)
        warnings = (
            f" [yellow]({report.warnings:,} {WARNINGS.words})[/yellow]" if report.warnings else ""
        )
        counts = (
            f"[b]{report.rows:,}[/b] {noun(report.rows, 'row')} uploaded · "
            f"[green]{report.ready:,} {READY.words}[/green]{warnings} · "
            f"[red]{report.errors:,} {ERRORS.words}[/red] · {report.skipped:,} {SKIPPED.words}"
            + (f" · {report.left_out:,} {LEFT_OUT.words}" if report.left_out else "")
            + (
                f" · {plural(report.blank_rows_skipped, 'blank row')} skipped"
                if report.blank_rows_skipped
                else ""
            )
        )
        columns = describe_columns(report)
        return Content.from_markup(
            "Program: [b]$program[/b]    Contract: [b]$contract[/b]\nFile: [b]$file[/b]$source\n"
            + (counts if self.readable else "")
            + ("\n$columns" if columns and self.readable else ""),
            program=self.program,
            contract=self.contract,
            file=report.file,
            source=f" — {source}" if source else "",
            columns=columns,
        )

    def _show(self, selector: str, text: str) -> None:
        """`text` in the Static at `selector`, hidden when there is none."""
        static = self.query_one(selector, Static)
        static.update(Content(text))
        static.display = bool(text)
