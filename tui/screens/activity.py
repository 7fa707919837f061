"""Activity: the organization's audit record, newest first: who changed what, when.

A line per entry (when, who, action, program, count: a dash for a change that counts nothing),
filtered by action and searched by actor or learner; the highlighted entry in full under the
table: its contract, reason, learners and details. Everything shown comes from the database:
it is shown as text, never read as markup.
"""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Label, Select, Static

from tui.screens.offline import ShowsServiceState
from tui.screens.paging import LoadsAsYouGo
from tui.screens.reloading import ReloadsWhenShown
from tui.screens.services import services
from tui.screens.worker_errors import ForwardsWorkerErrors, never_hangs
from tui.text import plural
from tui.widgets.footer import Footer, HelpKeyInput
from tui.wire import models as wire

SEARCH_DELAY = 0.25
SHOWN_LEARNERS = 20  # the detail names this many learners, then how many more
# The Count of an entry that counts nothing (a program renamed, an admin added).
NO_COUNT = "—"


def entry_detail(entry: wire.AuditEntry) -> Text:
    """The entry in full, a line per part: what and where, why, the learners, the details."""
    when = f"{entry.at.astimezone():%Y-%m-%d %H:%M:%S}"
    where = (
        " · ".join(name for name in (entry.program_name, entry.contract_name) if name)
        or "the organization"
    )
    lines = [f"#{entry.seq} {when} · {entry.actor} · {entry.action} · {where}"]
    if entry.reason:
        lines.append(f"Reason: {entry.reason}")
    if entry.learners:
        more = len(entry.learners) - SHOWN_LEARNERS
        lines.append(
            f"{plural(entry.count or len(entry.learners), 'learner')}: "
            + ", ".join(entry.learners[:SHOWN_LEARNERS])
            + (f" and {more:,} more" if more > 0 else "")
        )
    elif entry.count > 1:
        lines.append(f"{entry.count:,} in all (too many to name)")
    if entry.details:
        lines.append(
            "Details: "
            + ", ".join(
                f"{key} {value if isinstance(value, str) else json.dumps(value)}"
                for key, value in entry.details.items()
            )
        )
    return Text("\n".join(lines), end="")


class ActivityScreen(
    LoadsAsYouGo, ReloadsWhenShown, ShowsServiceState, ForwardsWorkerErrors, Screen[None]
):
    TITLE = "Activity"
    AUTO_RELOAD = False  # a reload would reset the table's cursor
    AUTO_FOCUS = "#activity"
    BINDINGS = [
        Binding("slash", "search", "Search"),
        Binding("escape", "leave_search", "Leave search", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[int, wire.AuditEntry] = {}
        self._actions_loaded = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="activity-filters"):
            yield HelpKeyInput(placeholder="Search admins and learners  (/)", id="activity-search")
            yield Select[str]([], prompt="Action", id="activity-action")
        yield DataTable(id="activity", cursor_type="row", zebra_stripes=True)
        yield Static(id="activity-detail")
        yield Label("", id="activity-total")
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        # The action and its count first, so that they fit at 80 columns.
        self.query_one(DataTable).add_columns("When", "Action", "Count", "Who", "Program")
        self.reload()

    def filters(self) -> dict[str, Any]:
        action = self.query_one("#activity-action", Select)
        return {
            "action": None if action.is_blank() else action.value,
            "q": self.query_one("#activity-search", Input).value.strip(),
        }

    @work(exclusive=True, group="activity", exit_on_error=False)
    @never_hangs
    async def reload(self, delay: float = 0.0) -> None:
        import asyncio

        if delay:
            await asyncio.sleep(delay)  # wait for the admin to stop typing
        page = await self.fetch(0)
        table = self.query_one(DataTable)
        table.clear()
        self.entries.clear()
        self.add(page)
        self.show_detail()
        if not self._actions_loaded:
            self._actions_loaded = True
            client = await services(self).client()
            actions = await client.audit_actions()
            self.query_one("#activity-action", Select).set_options(
                (action, action) for action in actions
            )

    async def fetch(self, offset: int) -> wire.Page[wire.AuditEntry]:
        client = await services(self).client()
        return await client.audit(offset=offset, limit=self.PAGE, **self.filters())

    def add(self, page: wire.Page[Any]) -> None:
        table = self.query_one(DataTable)
        for entry in page.items:
            self.entries[entry.seq] = entry
            table.add_row(
                f"{entry.at.astimezone():%Y-%m-%d %H:%M}",
                entry.action,
                f"{entry.count:,}" if entry.count > 0 else NO_COUNT,
                Text(entry.actor, end=""),
                Text(entry.program_name or "-", end=""),
                key=str(entry.seq),
            )
        self.total = page.total
        loaded = table.row_count
        self.query_one("#activity-total", Label).update(
            plural(page.total, "entry", "entries")
            + (f" ({loaded:,} loaded; more load as you go down)" if loaded < page.total else "")
            + " · newest first · / search"
        )

    @on(DataTable.RowHighlighted, "#activity")
    def show_detail(self) -> None:
        table = self.query_one(DataTable)
        entry = None
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            entry = None if key is None else self.entries.get(int(key))
        self.query_one("#activity-detail", Static).update(
            Text(self.empty_state()) if entry is None else entry_detail(entry)
        )

    def empty_state(self) -> str:
        """What the page says with no entry to show: none at all yet, or none that match."""
        if any(self.filters().values()):
            return "No entry matches this search and action."
        return (
            "No changes recorded yet. Every change an admin makes (an import, an invitation "
            "revoked, a contract edited) is recorded here."
        )

    def action_search(self) -> None:
        self.query_one("#activity-search", Input).focus()

    def action_leave_search(self) -> None:
        self.query_one(DataTable).focus()

    @on(Input.Changed, "#activity-search")
    def _searched(self) -> None:
        self.reload(delay=SEARCH_DELAY)

    @on(Input.Submitted, "#activity-search")
    def _search_done(self) -> None:
        self.query_one(DataTable).focus()

    @on(Select.Changed, "#activity-action")
    def _filtered(self) -> None:
        self.reload()
