"""Every invitation of a filter, a line each, fetched a page at a time as the admin scrolls.

A Line-API `ScrollView`, like the preview's table: only the visible lines are drawn, and only
the pages they fall in are asked of the service, so a million invitations scroll as ten do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from rich.segment import Segment
from textual.geometry import Size
from textual.reactive import reactive
from textual.strip import Strip

from tui.api import models as wire
from tui.widgets.line_table import LineTable, fit

PAGE = 200
Loader = Callable[[int, int], Awaitable[wire.InvitationPage]]
# (title, width, the cell's text); the last two columns turn red when the email failed
COLUMNS: list[tuple[str, int, Callable[[wire.Invitation], str]]] = [
    ("", 1, lambda _: ""),  # the mark, drawn apart
    ("Learner", 22, lambda i: i.full_name),
    ("Email", 28, lambda i: i.email),
    ("Program", 18, lambda i: i.program_name),
    ("Contract", 18, lambda i: i.contract_name),
    ("Status", 8, lambda i: i.status),
    ("Created", 10, lambda i: f"{i.created_at.astimezone():%Y-%m-%d}"),
    ("Expires", 10, lambda i: f"{i.expires_at.astimezone():%Y-%m-%d}"),
    ("Email", 9, lambda i: i.email_status),
    ("Email problem", 60, lambda i: i.email_error or ""),
]
EMAIL_COLUMNS = 2


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
        "invitations--header", "invitations--cursor", "invitations--marked",
        "invitations--failed", "invitations--loading",
    }  # fmt: skip
    total: reactive[int] = reactive(0)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._width = sum(width + 1 for _, width, _ in COLUMNS)
        self._pages: dict[int, list[wire.Invitation]] = {}
        self._asked: set[int] = set()
        self._loader: Loader | None = None
        self._generation = 0
        self.marked: set[int] = set()

    async def show(self, loader: Loader, *, keep_cursor: bool = False) -> None:
        """Show what `loader` lists (offset, limit): its first page now, the rest as needed."""
        self._generation += 1
        self._loader = loader
        self._pages.clear()
        self._asked.clear()
        first = await loader(0, PAGE)
        self._pages[0] = first.items
        self._asked.add(0)
        self.total = first.total
        self.virtual_size = Size(self._width, self.total + 1)
        self.cursor = min(self.cursor, max(self.total - 1, 0)) if keep_cursor else 0
        self.refresh()
        self.post_message(self.CursorMoved(self.cursor))

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

    def header(self) -> Strip:
        style = self.get_component_rich_style("invitations--header")
        text = " ".join(fit(title, width) for title, width, _ in COLUMNS)
        return Strip([Segment(text.ljust(self._width), style)])

    def row(self, index: int) -> Strip:
        base = self.rich_style
        if index == self.cursor:
            base = base + self.get_component_rich_style("invitations--cursor")
        invitation = self._invitation(index)
        if invitation is None:
            self._ask(index // PAGE)
            loading = self.get_component_rich_style("invitations--loading", partial=True)
            return Strip([Segment(fit("  loading…", self._width), base + loading)])
        marked = invitation.id in self.marked
        segments = [
            Segment(
                "●" if marked else " ",
                base + self.get_component_rich_style("invitations--marked", partial=True),
            ),
            Segment(" ", base),
        ]
        failed = self.get_component_rich_style("invitations--failed", partial=True)
        red_from = len(COLUMNS) - EMAIL_COLUMNS if invitation.email_status == "failed" else None
        for number, (_, width, text) in enumerate(COLUMNS[1:], start=1):
            style = base + failed if red_from is not None and number >= red_from else base
            segments += [Segment(fit(text(invitation), width), style), Segment(" ", base)]
        return Strip(segments)
