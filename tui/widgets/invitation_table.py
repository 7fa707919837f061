"""Every invitation of a filter, a line each, fetched a page at a time as the admin scrolls.

A Line-API `ScrollView`, like the preview's table: only the visible lines are drawn, and only
the pages they fall in are asked of the service, so a million invitations scroll as ten do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import NamedTuple

from rich.segment import Segment
from textual.geometry import Size
from textual.reactive import reactive
from textual.strip import Strip

from tui.widgets.line_table import LineTable, fit
from tui.wire import models as wire

PAGE = 200
Loader = Callable[[int, int], Awaitable[wire.InvitationPage]]


class Column(NamedTuple):
    title: str
    width: int  # at least; a flexible column takes a share of the room the others leave
    text: Callable[[wire.Invitation], str]
    flexible: bool = False
    email: bool = False  # drawn red when the email failed


# What an admin reads first comes first: at 80 columns who, the invitation's status, its email's
# and its expiry; program, contract and the mail server's reply follow to the right (and the
# highlighted one's detail under the table names them all).
COLUMNS = [
    Column("Learner", 20, lambda i: i.full_name, flexible=True),
    Column("Email", 25, lambda i: i.email, flexible=True),
    Column("Status", 8, lambda i: i.status),
    Column("Delivery", 8, lambda i: i.email_status, email=True),
    Column("Expires", 10, lambda i: f"{i.expires_at.astimezone():%Y-%m-%d}"),
    Column("Program", 18, lambda i: i.program_name, flexible=True),
    Column("Contract", 18, lambda i: i.contract_name, flexible=True),
    Column("Created", 10, lambda i: f"{i.created_at.astimezone():%Y-%m-%d}"),
    Column("Email problem", 60, lambda i: i.email_error or "", flexible=True, email=True),
]
MARK = 2  # the mark and a space, before the columns


def column_widths(room: int) -> list[int]:
    """Each column's width in a view `room` cells wide. The columns that fit whole are shown and
    the flexible ones among them share what is left, so the view never ends inside a column; the
    rest follow to the right at their own width, for the horizontal scroll."""
    widths = [column.width for column in COLUMNS]
    used, shown = MARK, 0
    for column in COLUMNS:
        if used + column.width + 1 > room:
            break
        used, shown = used + column.width + 1, shown + 1
    flexible = [index for index in range(shown) if COLUMNS[index].flexible]
    if flexible:
        share, extra = divmod(room - used, len(flexible))
        for number, index in enumerate(flexible):
            widths[index] += share + (number < extra)
    return widths


class InvitationTable(LineTable):
    DEFAULT_CSS = """
    InvitationTable { height: 1fr; background: $surface; }
    InvitationTable > .invitations--header { text-style: bold; background: $panel; }
    InvitationTable > .invitations--cursor { background: $accent 40%; }
    InvitationTable > .invitations--marked { color: $warning; text-style: bold; }
    InvitationTable > .invitations--failed { color: $error; }
    InvitationTable > .invitations--loading { color: $text-muted; }
    """
    COMPONENT_CLASSES = {
        "invitations--header",
        "invitations--cursor",
        "invitations--marked",
        "invitations--failed",
        "invitations--loading",
    }
    total: reactive[int] = reactive(0)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._widths = column_widths(0)
        self._room = 0
        self._pages: dict[int, list[wire.Invitation]] = {}
        self._asked: set[int] = set()
        self._loader: Loader | None = None
        self._generation = 0
        self.marked: set[int] = set()

    async def show(self, loader: Loader, *, keep_cursor: bool = False) -> None:
        """Show what `loader` lists (offset, limit): its first page now, the rest as needed."""
        first = await loader(0, PAGE)  # before the rows shown go: a failure leaves them
        self._generation += 1
        self._loader = loader
        self._pages.clear()
        self._asked.clear()
        self._pages[0] = first.items
        self._asked.add(0)
        self.total = first.total
        self.virtual_size = Size(self._line_width, self.total + 1)
        self.cursor = min(self.cursor, max(self.total - 1, 0)) if keep_cursor else 0
        self.refresh()
        self.post_message(self.CursorMoved(self.cursor))

    @property
    def loaded(self) -> bool:
        """Whether a list is shown: until the first answer, `total` is not known to be 0."""
        return self._loader is not None

    @property
    def current(self) -> wire.Invitation | None:
        return self._invitation(self.cursor)

    def _invitation(self, index: int) -> wire.Invitation | None:
        page = self._pages.get(index // PAGE)
        if page is None or index % PAGE >= len(page):
            return None
        return page[index % PAGE]

    def _ask(self, page: int) -> None:
        if page in self._asked or self._loader is None:
            return
        self._asked.add(page)
        loader, generation = self._loader, self._generation

        async def load() -> None:
            found = await loader(page * PAGE, PAGE)
            if generation == self._generation:  # not a page of a filter since changed
                self._pages[page] = found.items
                self.refresh()
                if page == self.cursor // PAGE:
                    self.post_message(self.CursorMoved(self.cursor))

        self.run_worker(load(), group=f"page-{page}", exit_on_error=False)

    def toggle_mark(self) -> None:
        invitation = self.current
        if invitation is not None:
            self.marked.symmetric_difference_update({invitation.id})
            self.refresh()

    @property
    def row_count(self) -> int:
        return self.total

    @property
    def _line_width(self) -> int:
        return MARK + sum(width + 1 for width in self._widths)

    def _fit_columns(self) -> None:
        """The columns' widths for the room the view has now (it changes with the terminal,
        and when the vertical scrollbar comes or goes)."""
        room = self.scrollable_content_region.width
        if room != self._room:
            self._room = room
            self._widths = column_widths(room)
            self.virtual_size = Size(self._line_width, self.total + 1)

    def header(self) -> Strip:
        self._fit_columns()
        style = self.get_component_rich_style("invitations--header")
        titles = " " * MARK + "".join(
            fit(column.title, width) + " "
            for column, width in zip(COLUMNS, self._widths, strict=True)
        )
        return Strip([Segment(titles, style)])

    def row(self, index: int) -> Strip:
        base = self.rich_style
        if index == self.cursor:
            base = base + self.get_component_rich_style("invitations--cursor")
        invitation = self._invitation(index)
        if invitation is None:
            self._ask(index // PAGE)
            loading = self.get_component_rich_style("invitations--loading", partial=True)
            return Strip([Segment(fit("  loading…", self._line_width), base + loading)])
        marked = invitation.id in self.marked
        segments = [
            Segment(
                "●" if marked else " ",
                base + self.get_component_rich_style("invitations--marked", partial=True),
            ),
            Segment(" ", base),
        ]
        failed = self.get_component_rich_style("invitations--failed", partial=True)
        red = invitation.email_status == "failed"
        for column, width in zip(COLUMNS, self._widths, strict=True):
            style = base + failed if red and column.email else base
            segments += [Segment(fit(column.text(invitation), width), style), Segment(" ", base)]
        return Strip(segments)
