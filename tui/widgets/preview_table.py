"""The preview's table: every row of the file, drawn a line at a time from a polars frame.

A Line-API `ScrollView`: only the visible rows are rendered, so a million rows open as fast as
ten. Each row shows its status marker, the three cells (the bad one highlighted) and the issue;
a row the admin left out stays, struck through, with its own marker.
"""

from __future__ import annotations

import polars as pl
from rich.segment import Segment
from textual.geometry import Size
from textual.strip import Strip

from tui.intake.fields import LEARNER_FIELDS
from tui.widgets.line_table import LineTable, fit

# (title, frame column, width): the row number and its marker, a column per field of the
# learner record, the issue.
COLUMNS = [
    ("Row", "row", 8),
    ("", "marker", 2),
    *((field.header, field.name, field.width) for field in LEARNER_FIELDS),
    ("Issue", "issue", 80),
]
MARKERS = {"error": "✗", "warning": "!", "skipped": "–", "ready": "✓", "left_out": "○"}
# A field's frame column -> the header an issue names as its `bad_column`.
CELL_COLUMNS = {field.name: field.header for field in LEARNER_FIELDS}


class PreviewTable(LineTable):
    """Rows of the preview frame: `row`, `status`, a column per learner field, `issue` and
    `bad_column`."""

    DEFAULT_CSS = """
    PreviewTable { height: 1fr; background: $surface; }
    PreviewTable > .preview--header { text-style: bold; background: $panel; }
    PreviewTable > .preview--cursor { background: $accent 40%; }
    PreviewTable > .preview--error { color: $error; }
    PreviewTable > .preview--warning { color: $warning; }
    PreviewTable > .preview--skipped { color: $text-muted; }
    PreviewTable > .preview--ready { color: $success; }
    PreviewTable > .preview--left-out { color: $text-muted; text-style: strike; }
    PreviewTable > .preview--bad-cell { background: $error 30%; text-style: bold; }
    """
    COMPONENT_CLASSES = {
        "preview--header",
        "preview--cursor",
        "preview--error",
        "preview--warning",
        "preview--skipped",
        "preview--ready",
        "preview--left-out",
        "preview--bad-cell",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.frame = pl.DataFrame()
        self._width = sum(width + 1 for _, _, width in COLUMNS)

    def show(self, frame: pl.DataFrame, cursor: int = 0) -> None:
        self.frame = frame
        self.virtual_size = Size(self._width, frame.height + 1)
        self.cursor = min(cursor, max(frame.height - 1, 0))
        self.refresh()

    @property
    def current_row(self) -> dict[str, object] | None:
        if not self.frame.height:
            return None
        return self.frame.row(self.cursor, named=True)

    @property
    def row_count(self) -> int:
        return self.frame.height

    def header(self) -> Strip:
        style = self.get_component_rich_style("preview--header")
        text = " ".join(title.ljust(width)[:width] for title, _, width in COLUMNS)
        return Strip([Segment(text.ljust(self._width), style)])

    def row(self, index: int) -> Strip:
        row = self.frame.row(index, named=True)
        status = str(row["status"])
        base = self.rich_style
        if index == self.cursor:
            base = base + self.get_component_rich_style("preview--cursor")
        status_style = self.get_component_rich_style(
            f"preview--{status.replace('_', '-')}", partial=True
        )
        if status == "left_out":  # the whole row is struck through: it is not in the import
            base = base + status_style
        bad = self.get_component_rich_style("preview--bad-cell", partial=True)
        # Only a row with an error or warning has a cell at fault; a skipped row does not.
        bad_column = row["bad_column"] if status in ("error", "warning") else None
        segments = []
        for _, column, width in COLUMNS:
            if column == "marker":
                value = MARKERS.get(status, " ")
                style = base + status_style
            else:
                value = "" if row[column] is None else str(row[column])
                style = base
                if column == "issue":
                    style = base + status_style
                if bad_column is not None and CELL_COLUMNS.get(column) == bad_column:
                    style = base + bad
            text = fit(value, width)
            segments.append(Segment(text, style))
            segments.append(Segment(" ", base))
        return Strip(segments)
