"""The rows of a preview: which are shown (f), the table, and the highlighted row's issue."""

from __future__ import annotations

import polars as pl
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Label, Static

from tui.intake.counts import ERRORS, LEFT_OUT, READY, SKIPPED, STATUSES, TERMS, WARNINGS
from tui.widgets.preview_table import PreviewTable

# Which rows the table shows, in the order `f` cycles through them: all, those with something
# to look at, then one per count of the preview's summary (tui.intake.counts).
FILTERS = ("all", "issues", *(term.key for term in TERMS))
FILTER_NAMES = {
    "all": "all rows",
    "issues": "rows with issues",
    READY.key: "ready rows",
    WARNINGS.key: "rows with warnings",
    ERRORS.key: "rows with errors",
    SKIPPED.key: "skipped rows",
    LEFT_OUT.key: "rows left out",
}
_STATUSES = {term.key: statuses for term, statuses in STATUSES.items()}


class PreviewRows(Vertical):
    """`frame` (a `preview_frame`) filtered by `filter`, in a `PreviewTable`. While `checking`,
    the table waits and the line above it says so."""

    DEFAULT_CSS = """
    PreviewRows { height: 1fr; }
    PreviewRows #filter { color: $text-muted; padding: 0 1; }
    PreviewRows #detail { height: auto; max-height: 4; padding: 0 1; color: $text; }
    """

    frame: reactive[pl.DataFrame] = reactive(pl.DataFrame, always_update=True, init=False)
    filter: reactive[str] = reactive("all", init=False)
    checking: reactive[bool] = reactive(False, init=False)

    def compose(self) -> ComposeResult:
        yield Label(id="filter")
        yield PreviewTable(id="table")
        yield Static(id="detail")

    @property
    def table(self) -> PreviewTable:
        return self.query_one(PreviewTable)

    @property
    def current_row(self) -> dict[str, object] | None:
        return self.table.current_row

    def shown(self) -> pl.DataFrame:
        if self.filter == "issues":
            return self.frame.filter(pl.col("status") != "ready")
        if self.filter in _STATUSES:
            return self.frame.filter(pl.col("status").is_in(_STATUSES[self.filter]))
        return self.frame

    def watch_frame(self) -> None:
        self._show(self.table.cursor)  # the rows checked again: the cursor stays where it was

    def watch_filter(self) -> None:
        self._show(0)

    def watch_checking(self, checking: bool) -> None:
        self.table.loading = checking
        if checking:
            self.query_one("#filter", Label).update("Checking the file again…")
        else:
            self._show_filter()

    def cycle_filter(self) -> None:
        self.filter = FILTERS[(FILTERS.index(self.filter) + 1) % len(FILTERS)]

    def jump(self, *, forward: bool) -> bool:
        """Move to the next (or previous) row with an issue; False when there is none."""
        table = self.table
        indexed = table.frame.with_row_index("index").filter(pl.col("status") != "ready")
        after = indexed.filter(
            pl.col("index") > table.cursor if forward else pl.col("index") < table.cursor
        )
        if after.height == 0:
            return False
        table.cursor = int(after["index"][0 if forward else -1])
        return True

    def _show(self, cursor: int) -> None:
        self.table.show(self.shown(), cursor)
        self._show_filter()
        self._show_detail()

    def _show_filter(self) -> None:
        self.query_one("#filter", Label).update(
            f"Showing {FILTER_NAMES[self.filter]} ({self.table.row_count:,}) · f changes what is "
            "shown, N goes to the previous issue"
        )

    @on(PreviewTable.CursorMoved)
    def _show_detail(self) -> None:
        row = self.current_row
        detail = self.query_one("#detail", Static)
        if row is None:
            detail.update("No rows to show.")
        elif row["status"] == "left_out":
            detail.update(f"Row {row['row']}: left out of this import; d puts it back.")
        elif row["issue"]:
            detail.update(Content(f"Row {row['row']}: {row['issue']}"))
        else:
            detail.update(f"Row {row['row']}: ready to invite.")
