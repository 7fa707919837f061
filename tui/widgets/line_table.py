"""A table drawn a line at a time (Textual's Line API) with a header line and a row cursor.

The preview's rows and the invitations share it: only the visible lines are rendered, so a
million rows move as fast as ten. A subclass says how many rows there are and draws one.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip


class LineTable(ScrollView, can_focus=True):
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

    @property
    def row_count(self) -> int:
        raise NotImplementedError

    def header(self) -> Strip:
        raise NotImplementedError

    def row(self, index: int) -> Strip:
        raise NotImplementedError

    def watch_cursor(self, new: int) -> None:
        # Keep the cursor's row between the header and the horizontal scrollbar.
        body = max(self.scrollable_content_region.height - 1, 1)
        top = self.scroll_offset.y
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif new >= top + body:
            self.scroll_to(y=new - body + 1, animate=False)
        self.refresh()
        self.post_message(self.CursorMoved(new))

    def action_cursor(self, step: int) -> None:
        if self.row_count:
            self.cursor = max(0, min(self.row_count - 1, self.cursor + step))

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(self.size.height - 2, 1))

    def action_jump(self, index: int) -> None:
        if self.row_count:
            self.cursor = index % self.row_count

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        if y == 0:
            strip = self.header()
        else:
            index = scroll_y + y - 1
            if index >= self.row_count:
                return Strip.blank(self.size.width)
            strip = self.row(index)
        return strip.crop(scroll_x, scroll_x + self.size.width).extend_cell_length(self.size.width)


def fit(value: str, width: int) -> str:
    """`value` in exactly `width` terminal cells (a CJK character takes two), cut with "…"."""
    flat = value.replace("\r\n", "⏎").replace("\n", "⏎").replace("\r", "⏎").replace("\t", "⇥")
    if cell_len(flat) <= width:
        return set_cell_size(flat, width)
    return set_cell_size(set_cell_size(flat, width - 1) + "…", width)
