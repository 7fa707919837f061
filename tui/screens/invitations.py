"""Invitations: every invitation after the send, filtered and searched, and acted on.

Resend (a new email, the expiry renewed), remind (the same invitation emailed again, for those
emailed a week ago or more) and revoke (the seat freed) act on the highlighted invitation, on
the marked ones, or on every invitation of the filter; each names its count and asks first. On
more than one invitation the action goes a batch at a time, in a dialog with a progress bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Header, Input, Label, Select, Static

from tui.api.client import ApiError
from tui.api.outcomes import follow_emails, queued
from tui.screens.bulk_progress import EMAILS, BulkProgress, outcome_text, result_text
from tui.screens.offline import ShowsServiceState
from tui.screens.reloading import ReloadsWhenShown
from tui.screens.roles import READ_ONLY, OffersByRole
from tui.screens.services import services
from tui.screens.type_the_count import LARGE, TypeTheCount
from tui.screens.worker_errors import ForwardsWorkerErrors, never_hangs
from tui.text import plural
from tui.widgets.footer import Footer, HelpKeyInput
from tui.widgets.invitation_table import InvitationTable
from tui.wire import models as wire

SEARCH_DELAY = 0.3
REMIND_AFTER_DAYS = 7
STATUSES = ("pending", "accepted", "revoked", "expired", "removed")
EMAIL_STATUSES = ("created", "queued", "retrying", "sent", "failed")
ACTIONS = {
    "resend": ("Resend", "a new email each, and the expiry renewed", "resent"),
    "remind": ("Remind", "the same invitation emailed again", "reminded"),
    "revoke": ("Revoke", "the invitations end and their seats are free", "revoked"),
}


@dataclass(frozen=True)
class Scope:
    """What an action applies to, as the admin chose it in the question."""

    label: str
    count: int
    selection: dict[str, Any]


class ConfirmAction(ModalScreen[Scope | None]):
    """Names the action, what it does, and the invitations it would change; asks first."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, action: str, scopes: list[Scope]) -> None:
        super().__init__()
        self.action_name = action
        self.scopes = scopes

    def compose(self) -> ComposeResult:
        title, what, _ = ACTIONS[self.action_name]
        with Vertical(classes="dialog", id="confirm-action"):
            yield Label(f"{title} invitations", classes="title")
            yield Static(f"{title}: {what}. Only pending invitations change; which ones?")
            with Vertical(classes="buttons", id="scopes"):
                for index, scope in enumerate(self.scopes):
                    yield Button(f"{scope.label}", id=f"scope-{index}", variant="primary")
                yield Button("Cancel", id="cancel")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#scope-0", Button).focus()

    @on(Button.Pressed)
    def _chosen(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(None)
        else:
            self.dismiss(self.scopes[int(str(event.button.id).removeprefix("scope-"))])


class InvitationsScreen(
    OffersByRole, ReloadsWhenShown, ShowsServiceState, ForwardsWorkerErrors, Screen[None]
):
    TITLE = "Invitations"
    WRITES = frozenset({"mark", "act"})
    AUTO_RELOAD = False  # a reload would move the cursor under the admin
    AUTO_FOCUS = "#invitations"
    BINDINGS = [
        Binding("slash", "search", "Search"),
        Binding("space", "mark", "Mark"),
        Binding("s", "act('resend')", "Resend"),
        Binding("m", "act('remind')", "Remind"),
        Binding("x", "act('revoke')", "Revoke"),
        Binding("escape", "leave_search", "Back", show=False),
    ]

    def __init__(self, import_id: int | None = None) -> None:
        super().__init__()
        self.import_id = import_id  # opened from an import: its invitations only
        self._choices_loaded = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="invitation-filters"):
            yield HelpKeyInput(placeholder="Search names, emails, External IDs  (/)", id="search")
            yield Select[int]([], prompt="Program", id="program")
            yield Select[int]([], prompt="Contract", id="contract")
            yield Select([(status, status) for status in STATUSES], prompt="Status", id="status")
            yield Select(
                [(status, status) for status in EMAIL_STATUSES], prompt="Email", id="email-status"
            )
        yield InvitationTable(id="invitations")
        yield Static(id="invitation-detail")
        yield Label(id="invitation-total")
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        if self.import_id is not None:
            self.sub_title = f"Import {self.import_id}"
        self.reload()  # the filters' choices load once the first rows are on screen

    @work(exclusive=True, group="choices", exit_on_error=False)
    @never_hangs
    async def load_choices(self) -> None:
        client = await services(self).client()
        # Archived programs and contracts too, named so: their invitations are history to find.
        programs = [
            *(await client.programs()).items,
            *(await client.programs(archived=True)).items,
        ]
        contracts: dict[int, str] = {}
        for program in programs:
            for archived in (False, True):
                for contract in (await client.contracts(program.id, archived=archived)).items:
                    contracts[contract.id] = _named(contract)
        self.query_one("#program", Select).set_options(
            (Text(_named(program)), program.id) for program in programs
        )
        self.query_one("#contract", Select).set_options(
            (Text(name), id_) for id_, name in sorted(contracts.items(), key=lambda item: item[1])
        )

    def filters(self) -> dict[str, Any]:
        """The filter on screen, as the API's InvitationSelection spells it."""

        def chosen(selector: str) -> Any:
            select = self.query_one(selector, Select)
            return None if select.is_blank() else select.value

        return {
            "program_id": chosen("#program"),
            "contract_id": chosen("#contract"),
            "status": chosen("#status"),
            "email_status": chosen("#email-status"),
            "import_id": self.import_id,
            "q": self.query_one("#search", Input).value.strip(),
        }

    @work(exclusive=True, group="reload", exit_on_error=False)
    @never_hangs
    async def reload(self, delay: float = 0.0, keep_cursor: bool = True) -> None:
        import asyncio

        if delay:
            await asyncio.sleep(delay)  # wait for the admin to stop typing
        client = await services(self).client()
        self.offer_by_role()
        chosen = self.filters()

        async def page(offset: int, limit: int) -> wire.InvitationPage:
            return await client.invitations(
                chosen["program_id"],
                chosen["status"],
                chosen["q"],
                offset,
                limit,
                email_status=chosen["email_status"],
                import_id=chosen["import_id"],
                contract_id=chosen["contract_id"],
            )

        table = self.query_one(InvitationTable)
        detail = self.query_one("#invitation-detail", Static)
        if not table.loaded:
            detail.update("Loading invitations…")
        try:
            await table.show(page, keep_cursor=keep_cursor)
        except Exception:
            if not table.loaded:  # no list was ever shown: "Loading…" would stand for good
                detail.update("The invitations could not be loaded. r tries again.")
            raise  # said in full by the worker's notice (tui.screens.worker_errors)
        if not self._choices_loaded:
            self._choices_loaded = True
            self.load_choices()
        marked = f" · {len(table.marked):,} marked" if table.marked else ""
        keys = (
            f"a viewer: {READ_ONLY}"
            if self.read_only()
            else "space marks · s resend · m remind · x revoke"
        )
        self.query_one("#invitation-total", Label).update(
            f"{plural(table.total, 'invitation')}{marked} · {keys} · ? every key"
        )

    @on(Input.Changed, "#search")
    def _searched(self) -> None:
        self.reload(delay=SEARCH_DELAY, keep_cursor=False)

    @on(Input.Submitted, "#search")
    def _search_done(self) -> None:
        self.query_one(InvitationTable).focus()

    @on(Select.Changed)
    def _filtered(self) -> None:
        self.reload(keep_cursor=False)

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_leave_search(self) -> None:
        """escape: out of the search; opened from an import, back to the history."""
        if self.query_one("#search", Input).has_focus or self.import_id is None:
            self.query_one(InvitationTable).focus()
        else:
            self.dismiss(None)

    def action_mark(self) -> None:
        table = self.query_one(InvitationTable)
        table.toggle_mark()
        table.action_cursor(1)
        total = self.query_one("#invitation-total", Label)
        total.update(f"{plural(table.total, 'invitation')} · {len(table.marked):,} marked")

    @on(InvitationTable.CursorMoved)
    def show_detail(self) -> None:
        invitation = self.query_one(InvitationTable).current
        detail = self.query_one("#invitation-detail", Static)
        if invitation is None:
            table = self.query_one(InvitationTable)
            if not table.loaded:  # the first answer is awaited: none are known, not "none"
                detail.update("Loading invitations…")
            else:
                detail.update("" if table.total else "No invitations in this filter.")
            return
        status: str = invitation.status
        expires = f"{invitation.expires_at.astimezone():%Y-%m-%d}"
        if status == "pending":
            status += f" until {expires}"
        elif status == "expired":
            status += f" on {expires}"
        email = f"Email {invitation.email_status}"
        if invitation.email_sent_at:
            email += f" {invitation.email_sent_at.astimezone():%Y-%m-%d %H:%M}"
        if invitation.email_error:
            email += f": {invitation.email_error}"
        # Two lines, each cut to the width: the second keeps the mail server's whole reply in
        # view at 80 columns.
        detail.update(
            Content(
                f"{invitation.full_name} <{invitation.email}> · {status} · "
                f"{invitation.program_name} · {invitation.contract_name}\n{email}"
            )
        )

    def action_act(self, action: str) -> None:
        self.ask(action)

    @work(exclusive=True, group="ask", exit_on_error=False)
    @never_hangs
    async def ask(self, action: str) -> None:
        """The scopes the action can take here, each with its count, in a question."""
        table = self.query_one(InvitationTable)
        filters = {key: value for key, value in self.filters().items() if value}
        scopes = []
        if table.current is not None:
            scopes.append(
                Scope(f"This one ({table.current.email})", 1, {"ids": [table.current.id]})
            )
        if table.marked:
            scopes.append(
                Scope(
                    f"The {len(table.marked):,} marked",
                    len(table.marked),
                    {"ids": sorted(table.marked)},
                )
            )
        if filters and table.total:
            count = table.total
            if action == "remind":
                filters["pending_for_days"] = REMIND_AFTER_DAYS
                client = await services(self).client()
                count = (
                    await client.invitations(
                        filters.get("program_id"),
                        filters.get("status"),
                        filters.get("q", ""),
                        limit=1,
                        email_status=filters.get("email_status"),
                        import_id=filters.get("import_id"),
                        contract_id=filters.get("contract_id"),
                        pending_for_days=REMIND_AFTER_DAYS,
                    )
                ).total
            what = f"emailed {REMIND_AFTER_DAYS}+ days ago " if action == "remind" else ""
            if count:
                scopes.append(Scope(f"All {count:,} {what}in this filter", count, filters))
        if not scopes:
            self.notify("No invitation to act on here.", timeout=3)
            return

        def chosen(scope: Scope | None) -> None:
            if scope is None:
                return
            if scope.count == 1:
                self.run_action_on(action, scope)
            elif action == "revoke" and scope.count > LARGE:
                # Destroying that many is asked twice: the admin types the count.
                question = TypeTheCount("Revoke", "invitations", scope.count)
                self.app.push_screen(question, partial(self._typed, action, scope))
            else:
                self.run_in_batches(action, scope)

        self.app.push_screen(ConfirmAction(action, scopes), chosen)

    def _typed(self, action: str, scope: Scope, go_on: bool | None) -> None:
        if go_on:
            self.run_in_batches(action, scope)

    def run_in_batches(self, action: str, scope: Scope) -> None:
        """The marked ones or the whole filter, in a dialog that shows the batches going."""
        title, _, done = ACTIONS[action]
        selection = wire.InvitationSelection(**scope.selection)

        def closed(result: wire.BulkResult | None) -> None:
            if scope.selection.get("ids") is not None:
                self.query_one(InvitationTable).marked.clear()
            self.reload()

        progress = BulkProgress(action, title, done, scope.label, scope.count, selection)
        self.app.push_screen(progress, closed)

    @work(exclusive=True, group="act", exit_on_error=False)
    @never_hangs
    async def run_action_on(self, action: str, scope: Scope) -> None:
        """One invitation: one request, and a notification with what it did."""
        title, _, done = ACTIONS[action]
        table = self.query_one(InvitationTable)
        table.loading = True
        try:
            client = await services(self).client()
            result = await client.bulk(action, wire.InvitationSelection(**scope.selection))
        except ApiError as error:
            self.notify(error.problem.detail, severity="error", markup=False)
            return
        finally:
            table.loading = False
        table.marked.clear()
        self.reload()
        if action not in EMAILS or not result.changed:
            self.notify(result_text(result, done), title=title)
            return
        self.notify(f"{result_text(result, done)} {queued(result.changed).text()}", title=title)
        self.follow(title, scope, result.changed)

    @work(group="follow", exit_on_error=False)
    @never_hangs
    async def follow(self, title: str, scope: Scope, changed: int) -> None:
        """The emails one action queued: said again once delivered or failed (or a minute)."""
        client = await services(self).client()
        selection = wire.InvitationSelection(**scope.selection)
        outcome = await follow_emails(client, selection, changed)
        self.notify(
            outcome_text(outcome),
            title=f"{title}: {scope.label}",
            severity="warning" if outcome.failed or not outcome.settled else "information",
            markup=False,
            timeout=10,
        )
        self.reload()


def _named(item: wire.Program | wire.Contract) -> str:
    """A filter's choice: the name, marked when archived (offered nowhere, history kept)."""
    return f"{item.name} (archived)" if item.archived_at else item.name
