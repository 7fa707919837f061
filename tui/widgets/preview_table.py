"""The preview's table: every row of the file, drawn a line at a time from a polars frame.

A Line-API `ScrollView`: only the visible rows are rendered, so a million rows open as fast as
ten. Each row shows its status marker, the three cells (the bad one highlighted) and the issue.
"""

from __future__ import annotations

import polars as pl
from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

# (title, frame column, width)
COLUMNS = [
    ("Row", "row", 8),
    ("", "marker", 2),
    ("Full Name", "full_name", 24),
    ("Email", "email", 32),
    ("External ID", "external_id", 14),
    ("Issue", "issue", 80),
]
MARKERS = {"error": "✗", "warning": "!", "skipped": "–", "ready": "✓"}
CELL_COLUMNS = {"full_name": "Full Name", "email": "Email", "external_id": "External ID"}


class PreviewTable(ScrollView, can_focus=True):
    """Rows of the preview frame: `row`, `status`, `full_name`, `email`, `external_id`,
    `issue`, `bad_column`."""

    DEFAULT_CSS = """
    PreviewTable { height: 1fr; background: $surface; }
    PreviewTable > .preview--header { text-style: bold; background: $panel; }
    PreviewTable > .preview--cursor { background: $accent 40%; }
    PreviewTable > .preview--error { color: $error; }
    PreviewTable > .preview--warning { color: $warning; }
    PreviewTable > .preview--skipped { color: $text-muted; }
    PreviewTable > .preview--ready { color: $success; }
    PreviewTable > .preview--bad-cell { background: $error 30%; text-style: bold; }
    """
    COMPONENT_CLASSES = {
        "preview--header", "preview--cursor", "preview--error", "preview--warning",
        "preview--skipped", "preview--ready", "preview--bad-cell",
    }  # fmt: skip
    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
    ]

    cursor: reactive[int] = reactive(0)

    class CursorMoved(Message):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

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

    def watch_cursor(self, old: int, new: int) -> None:
        self._keep_visible(new)
        self.refresh()
        self.post_message(self.CursorMoved(new))

    def _keep_visible(self, index: int) -> None:
        # The rows below the header and above the horizontal scrollbar.
        body = max(self.scrollable_content_region.height - 1, 1)
        top = self.scroll_offset.y
        if index < top:
            self.scroll_to(y=index, animate=False)
        elif index >= top + body:
            self.scroll_to(y=index - body + 1, animate=False)

    def action_cursor(self, step: int) -> None:
        if self.frame.height:
            self.cursor = max(0, min(self.frame.height - 1, self.cursor + step))

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(self.size.height - 2, 1))

    def action_jump(self, index: int) -> None:
        if self.frame.height:
            self.cursor = index % self.frame.height

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        if y == 0:
            strip = self._header()
        else:
            index = scroll_y + y - 1
            if index >= self.frame.height:
                return Strip.blank(self.size.width)
            strip = self._row(index)
        return strip.crop(scroll_x, scroll_x + self.size.width).extend_cell_length(self.size.width)

    def _header(self) -> Strip:
        style = self.get_component_rich_style("preview--header")
        text = " ".join(title.ljust(width)[:width] for title, _, width in COLUMNS)
        return Strip([Segment(text.ljust(self._width), style)])

    def _row(self, index: int) -> Strip:
        row = self.frame.row(index, named=True)
        status = str(row["status"])
        base = self.rich_style
        if index == self.cursor:
            base = base + self.get_component_rich_style("preview--cursor")
        status_style = self.get_component_rich_style(f"preview--{status}", partial=True)
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
            text = _fit(value, width)
            segments.append(Segment(text, style))
            segments.append(Segment(" ", base))
        return Strip(segments)


def _fit(value: str, width: int) -> str:
    """`value` in exactly `width` terminal cells (a CJK character takes two), cut with "…"."""
    flat = value.replace("\r\n", "⏎").replace("\n", "⏎").replace("\r", "⏎").replace("\t", "⇥")
    if cell_len(flat) <= width:
        return set_cell_size(flat, width)
    return set_cell_size(set_cell_size(flat, width - 1) + "…", width)
