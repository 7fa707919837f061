"""Members of a program (from Learning programs, `m`): the learners who accepted their
invitation, searched, marked and removed.

Removing a member ends the membership and frees the seat at once; the learner and their
history stay, and they can be invited again. It acts on the highlighted member, the marked
ones, or every member the search shows; it names the count and asks first, with an optional
reason. More than one go a batch at a time, in the dialog with a progress bar.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Header, Input, Label, Static

from tui.api.bulk import MEMBER_BATCH, remove_in_batches
from tui.api.client import ApiError, RosterClient
from tui.screens.bulk_progress import BulkProgress, result_text
from tui.screens.offline import ShowsServiceState
from tui.screens.paging import LoadsAsYouGo
from tui.screens.reloading import ReloadsWhenShown
from tui.screens.roles import READ_ONLY, OffersByRole
from tui.screens.services import services
from tui.screens.type_the_count import LARGE, TypeTheCount
from tui.screens.worker_errors import ForwardsWorkerErrors, never_hangs
from tui.text import plural
from tui.widgets.footer import Footer, HelpKeyInput
from tui.wire import models as wire

SEARCH_DELAY = 0.25
MARK = "●"
WHAT_REMOVAL_DOES = (
    "Their membership ends and their seats are free at once; their history stays, and they "
    "can be invited again."
)
REASON_HINT = "Type a reason, or none; enter (or tab) moves to the choices. escape cancels."


@dataclass(frozen=True)
class Removal:
    """Whom a removal applies to, as the admin chose it, and why."""

    label: str
    count: int
    selection: dict[str, Any]
    reason: str | None = None


def as_bulk_result(removal: wire.MemberRemoval) -> wire.BulkResult:
    """A removal as the bulk actions' dialog counts: matched, changed, and why the rest were
    left as they were."""
    left = Counter[str](why.code for why in removal.not_members)
    return wire.BulkResult(matched=removal.matched, changed=removal.removed, left=dict(left))


class ConfirmRemoval(ModalScreen[Removal | None]):
    """Names what removal does and the members it would remove; asks first, with a reason."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, program: wire.Program, choices: list[Removal]) -> None:
        super().__init__()
        self.program = program
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="confirm-removal"):
            yield Label("Remove members", classes="title")
            yield Static(Content(f"From {self.program.name}. {WHAT_REMOVAL_DOES} Which ones?"))
            yield Static(REASON_HINT, id="removal-hint", classes="hint")
            yield Input(
                placeholder="Reason (optional): kept with each removal",
                max_length=wire.MAX_REASON,
                id="reason",
            )
            with Vertical(classes="buttons", id="scopes"):
                for index, choice in enumerate(self.choices):
                    yield Button(Content(choice.label), id=f"scope-{index}", variant="primary")
                yield Button("Cancel", id="cancel")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()  # typing starts the reason

    @on(Input.Submitted, "#reason")
    def _reason_given(self) -> None:
        """enter in the reason removes nothing: it moves to the choices."""
        self.query_one("#scope-0", Button).focus()

    @on(Button.Pressed)
    def _chosen(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(None)
            return
        choice = self.choices[int(str(event.button.id).removeprefix("scope-"))]
        reason = self.query_one("#reason", Input).value.strip() or None
        self.dismiss(Removal(choice.label, choice.count, choice.selection, reason))


class MembersScreen(
    OffersByRole,
    LoadsAsYouGo,
    ReloadsWhenShown,
    ShowsServiceState,
    ForwardsWorkerErrors,
    Screen[None],
):
    TITLE = "Members"
    WRITES = frozenset({"mark", "remove"})
    AUTO_RELOAD = False  # a reload would move the cursor under the admin
    AUTO_FOCUS = "#members"
    BINDINGS = [
        Binding("slash", "search", "Search"),
        Binding("space", "mark", "Mark"),
        Binding("x", "remove", "Remove"),
        Binding("escape", "back", "Back"),
    ]
    DEFAULT_CSS = """
    MembersScreen > .title { padding: 1 2 0 2; margin-bottom: 0; }
    MembersScreen #members-bar { height: auto; padding: 0 2; }
    MembersScreen #members-bar Input { width: 1fr; }
    MembersScreen DataTable { height: 1fr; margin: 0 2; }
    MembersScreen #members-total { padding: 0 2; color: $text-muted; }
    MembersScreen.-short #members-bar Input { border: none; height: 1; padding: 0 1; }
    """
    batch_size = MEMBER_BATCH  # members a request

    searched = ""  # the search the table shows

    def __init__(self, program: wire.Program) -> None:
        super().__init__()
        self.program = program
        self.marked: set[int] = set()  # learner ids
        self.members: list[wire.Member] = []  # the rows loaded, in the table's order

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label(Content(f"Members of {self.program.name}"), classes="title")
        with Horizontal(id="members-bar"):
            yield HelpKeyInput(placeholder="Search names, emails, External IDs  (/)", id="search")
        yield DataTable(id="members", cursor_type="row", zebra_stripes=True)
        yield Label("", id="members-total")
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one(DataTable)
        table.add_column(" ", key="mark", width=1)
        table.add_columns("Full Name", "Email", "External ID", "Contract", "Accepted")
        self.reload()

    @work(exclusive=True, group="members", exit_on_error=False)
    @never_hangs
    async def reload(self, delay: float = 0.0) -> None:
        import asyncio

        if delay:
            await asyncio.sleep(delay)  # wait for the admin to stop typing
        client = await services(self).client()
        self.searched = self.query_one("#search", Input).value.strip()
        page = await client.members(self.program.id, self.searched, limit=self.PAGE)
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        self.members = []
        self.add(page)
        self.offer_by_role()
        table.move_cursor(row=min(cursor, max(table.row_count - 1, 0)))
        if not self.query_one("#search", Input).has_focus:
            table.focus()

    async def fetch(self, offset: int) -> wire.MemberPage:
        client = await services(self).client()
        return await client.members(self.program.id, self.searched, offset, self.PAGE)

    def add(self, page: wire.Page[Any]) -> None:
        table = self.query_one(DataTable)
        for member in page.items:
            table.add_row(
                MARK if member.learner_id in self.marked else "",
                Text(member.full_name, end=""),
                Text(member.email, end=""),
                Text(member.external_id or "", end=""),
                Text(member.contract_name, end=""),
                f"{member.accepted_at.astimezone():%Y-%m-%d}" if member.accepted_at else "",
                key=str(member.learner_id),
            )
            self.members.append(member)
        self.total = page.total
        self.show_total()

    def show_total(self) -> None:
        loaded = self.query_one(DataTable).row_count
        more = f" ({loaded:,} loaded; more load as you go down)" if loaded < self.total else ""
        marked = f" · {len(self.marked):,} marked" if self.marked else ""
        keys = READ_ONLY if self.read_only() else "space marks · x removes"
        self.query_one("#members-total", Label).update(
            f"{plural(self.total, 'member')}{more}{marked} · {keys}"
        )

    @property
    def current(self) -> wire.Member | None:
        row = self.query_one(DataTable).cursor_row
        return self.members[row] if 0 <= row < len(self.members) else None

    @on(Input.Changed, "#search")
    def _searched(self) -> None:
        self.reload(delay=SEARCH_DELAY)

    @on(Input.Submitted, "#search")
    def _search_done(self) -> None:
        self.query_one(DataTable).focus()

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_back(self) -> None:
        """escape: out of the search, else back to Learning programs."""
        if self.query_one("#search", Input).has_focus:
            self.query_one(DataTable).focus()
        else:
            self.dismiss(None)

    def action_mark(self) -> None:
        member = self.current
        if member is None:
            return
        self.marked.symmetric_difference_update({member.learner_id})
        table = self.query_one(DataTable)
        mark = MARK if member.learner_id in self.marked else ""
        table.update_cell(str(member.learner_id), "mark", mark)
        table.action_cursor_down()
        self.show_total()

    def action_remove(self) -> None:
        member = self.current
        choices = []
        if member is not None:
            choices.append(
                Removal(f"This one ({member.email})", 1, {"learner_ids": [member.learner_id]})
            )
        if self.marked:
            count = len(self.marked)
            choices.append(
                Removal(f"The {count:,} marked", count, {"learner_ids": sorted(self.marked)})
            )
        if self.total:
            choices.append(
                Removal(self._all_label(), self.total, {"all_matching": True, "q": self.searched})
            )
        if not choices:
            self.notify("No member to remove here.", timeout=3)
            return
        self.app.push_screen(ConfirmRemoval(self.program, choices), self._chosen)

    def _all_label(self) -> str:
        """`All 12 members`, `All 12 in this search`; `The 1 member (of this search)`."""
        if self.total == 1:
            return "The 1 member of this search" if self.searched else "The 1 member"
        which = "in this search" if self.searched else "members"
        return f"All {self.total:,} {which}"

    def _chosen(self, removal: Removal | None) -> None:
        if removal is None:
            return
        if removal.count > LARGE:
            # Destroying that many is asked twice: the admin types the count.
            question = TypeTheCount("Remove", "members", removal.count)

            def answered(go_on: bool | None) -> None:
                if go_on:
                    self._remove(removal)

            self.app.push_screen(question, answered)
            return
        self._remove(removal)

    def _remove(self, removal: Removal) -> None:
        selection = wire.MemberSelection(**removal.selection, reason=removal.reason)
        if removal.count == 1:
            self.remove_one(selection)
            return
        program_id = self.program.id
        size = self.batch_size

        async def batches(client: RosterClient) -> AsyncGenerator[wire.BulkResult, None]:
            async for so_far in remove_in_batches(client, program_id, selection, size):
                yield as_bulk_result(so_far)

        def closed(_result: wire.BulkResult | None) -> None:
            if "learner_ids" in removal.selection:
                self.marked.clear()
            self.reload()

        progress = BulkProgress(
            "remove",
            "Remove",
            "removed",
            removal.label,
            removal.count,
            None,
            batches=batches,
            noun="member",
        )
        self.app.push_screen(progress, closed)

    @work(exclusive=True, group="remove", exit_on_error=False)
    @never_hangs
    async def remove_one(self, selection: wire.MemberSelection) -> None:
        """One member: one request, and a notification with what it did."""
        table = self.query_one(DataTable)
        table.loading = True
        try:
            client = await services(self).client()
            removal = await client.remove_members(self.program.id, selection)
        except ApiError as error:
            self.notify(error.problem.detail, severity="error", markup=False)
            return
        finally:
            table.loading = False
        text = result_text(as_bulk_result(removal), "removed", "member")
        self.notify(text, title="Remove", markup=False)
        self.marked.difference_update(selection.learner_ids or [])
        self.reload()
