"""A DataTable that reaches every record of a long list: the next page loads as the cursor
nears the last row loaded (Users, Imports)."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.screen import Screen
from textual.widgets import DataTable

from tui.screens.worker_errors import never_hangs
from tui.wire import models as wire


class LoadsAsYouGo(Screen[Any]):
    """Mixed into a screen with one DataTable; it says how to fetch a page and add its rows."""

    PAGE = 200
    total = 0  # records the list has in all

    async def fetch(self, offset: int) -> wire.Page[Any]:
        raise NotImplementedError

    def add(self, page: wire.Page[Any]) -> None:
        raise NotImplementedError

    @on(DataTable.RowHighlighted)
    def _near_the_end(self, event: DataTable.RowHighlighted) -> None:
        table = event.data_table
        if event.cursor_row >= table.row_count - self.PAGE // 4 and table.row_count < self.total:
            self.load_more(table.row_count)

    @work(exclusive=True, group="more", exit_on_error=False)
    @never_hangs
    async def load_more(self, offset: int) -> None:
        page = await self.fetch(offset)
        if self.query_one(DataTable).row_count == offset:  # no reload came in between
            self.add(page)
