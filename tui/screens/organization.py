"""Organization: its contracts and its invitation policy.

Every admin reads the contracts (seats used of the total, dates, programs, and whether each
takes new invitations, or why not; the archived ones too with `s`) and the policy. An owner
also edits the highlighted contract (e), archives it (x) or restores an archived one (r), and
changes the policy (l). Each dialog sends its change itself and shows the service's refusal
inside it, open until the change is saved or cancelled. Names come from admins: they are shown
as text, never read as markup.
"""

from __future__ import annotations

from datetime import date

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Button, Checkbox, DataTable, Header, Input, Label, Static

from tui.api.client import ApiError
from tui.screens.change_dialog import ArchiveQuestion, ChangeDialog
from tui.screens.offline import ShowsServiceState
from tui.screens.roles import OffersByRole
from tui.screens.services import services
from tui.screens.worker_errors import ForwardsWorkerErrors, never_hangs
from tui.text import plural
from tui.widgets.buttons import relabel
from tui.widgets.footer import Footer
from tui.wire import models as wire

# The field a contract's refusal is about, by its code.
FIELD_OF_REFUSAL = {
    "name_taken": "contract-name",
    "seats_in_use": "contract-seats",
    "dates_out_of_order": "contract-ends",
}


def policy_text(policy: wire.InvitationPolicy) -> str:
    """'Invitations live 30 days; a reminder goes 7 days after the email.'"""
    days = policy.remind_after_days
    reminder = (
        "no automatic reminder"
        if days is None
        else f"a reminder goes {plural(days, 'day')} after the email"
    )
    return f"Invitations live {plural(policy.invitation_lifetime_days, 'day')}; {reminder}."


def seats_text(contract: wire.Contract) -> str:
    total = "unlimited" if contract.seats_total is None else f"{contract.seats_total:,}"
    return f"{contract.seats_used:,} / {total}"


def status_text(contract: wire.Contract) -> str:
    """'available', or why the contract takes no new invitations."""
    if contract.archived_at is not None:
        return "archived"
    return "available" if contract.available else contract.unavailable_reason or "unavailable"


def _day(text: str, label: str) -> date | None:
    """A date typed as YYYY-MM-DD; empty: none. ValueError says what is wrong."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        message = f"{label} {text!r} is no date: give YYYY-MM-DD, or leave it empty."
        raise ValueError(message) from None


class EditContract(ForwardsWorkerErrors, ChangeDialog[wire.Contract]):
    """The contract's name, seats and dates; dismissed with the contract as saved."""

    def __init__(self, contract: wire.Contract) -> None:
        super().__init__()
        self.contract = contract

    def compose(self) -> ComposeResult:
        contract = self.contract
        with Vertical(classes="dialog", id="edit-contract"):
            yield Label("Edit contract", classes="title")
            yield Label("Name")
            yield Input(contract.name, id="contract-name", max_length=1000)
            yield Label("Seats (empty: unlimited)")
            seats = "" if contract.seats_total is None else str(contract.seats_total)
            yield Input(seats, id="contract-seats", placeholder="unlimited", type="integer")
            yield Label("Starts and ends (YYYY-MM-DD; empty: no limit)")
            with Horizontal(id="contract-dates"):
                yield Input(str(contract.starts_on or ""), id="contract-starts")
                yield Input(str(contract.ends_on or ""), id="contract-ends")
            yield from self.buttons()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#contract-name", Input).focus()

    def save(self) -> None:
        contract = self.contract
        seats = self.typed("contract-seats")
        try:
            if seats and int(seats) < 1:
                raise ValueError("Give 1 seat or more, or leave the seats empty for unlimited.")
            typed = {
                "name": self.typed("contract-name"),
                "seats": int(seats) if seats else None,
                "starts_on": _day(self.typed("contract-starts"), "The start"),
                "ends_on": _day(self.typed("contract-ends"), "The end"),
            }
        except ValueError as error:
            self.refuse(str(error))
            return
        before = {
            "name": contract.name,
            "seats": contract.seats_total,
            "starts_on": contract.starts_on,
            "ends_on": contract.ends_on,
        }
        change = wire.ContractChange.model_validate(
            {field: value for field, value in typed.items() if value != before[field]}
        )
        if not change.model_fields_set:
            self.dismiss(None)
            return
        self.send(change)

    @work(exclusive=True, group="save", exit_on_error=False)
    @never_hangs
    async def send(self, change: wire.ContractChange) -> None:
        client = await services(self).client()
        try:
            saved = await client.edit_contract(self.contract.id, change)
        except ApiError as refusal:
            self.refuse(refusal.problem.detail, FIELD_OF_REFUSAL.get(refusal.code or ""))
            return
        self.dismiss(saved)


class EditPolicy(ForwardsWorkerErrors, ChangeDialog[wire.InvitationPolicy]):
    """How long invitations live, and after how many days a pending one is reminded (empty:
    never); dismissed with the policy as saved."""

    def __init__(self, policy: wire.InvitationPolicy) -> None:
        super().__init__()
        self.policy = policy

    def compose(self) -> ComposeResult:
        policy = self.policy
        with Vertical(classes="dialog", id="edit-policy"):
            yield Label("Invitation policy", classes="title")
            yield Label("Invitations live (days)")
            lifetime = str(policy.invitation_lifetime_days)
            yield Input(lifetime, id="policy-lifetime", type="integer")
            yield Label("Remind after (days after the email; empty: no automatic reminder)")
            remind = "" if policy.remind_after_days is None else str(policy.remind_after_days)
            yield Input(remind, id="policy-remind", placeholder="no reminder", type="integer")
            yield Static(
                "A new lifetime applies from the next invitation or resend; the reminder to "
                "every pending invitation.",
                classes="hint",
            )
            yield from self.buttons()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#policy-lifetime", Input).focus()

    def save(self) -> None:
        lifetime, remind = self.typed("policy-lifetime"), self.typed("policy-remind")
        try:
            # The service judges the numbers (its refusal says what would do): sent as typed.
            policy = wire.InvitationPolicy.model_construct(
                invitation_lifetime_days=int(lifetime),
                remind_after_days=int(remind) if remind else None,
            )
        except ValueError:
            self.refuse(
                "Give how many days invitations live, and after how many days a reminder goes "
                "(or leave it empty for none).",
                "policy-lifetime",
            )
            return
        if policy == self.policy:
            self.dismiss(None)
            return
        self.send(policy)

    @work(exclusive=True, group="save", exit_on_error=False)
    @never_hangs
    async def send(self, policy: wire.InvitationPolicy) -> None:
        client = await services(self).client()
        try:
            saved = await client.set_policy(policy)
        except ApiError as refusal:
            self.refuse(refusal.problem.detail)
            return
        self.dismiss(saved)


class ArchiveContract(ArchiveQuestion):
    """The question before archiving a contract: what stops, and what stays."""

    def __init__(self, contract: wire.Contract) -> None:
        super().__init__(
            contract.name,
            "It takes no new invitations from now on and is offered in no picker. Its "
            f"{plural(contract.seats_used, 'seat')} in use stay: pending invitations "
            "stay valid and can still be accepted, and its history is kept. Show the "
            "archived contracts (s) and press r to restore it.",
        )
        self.contract = contract


class OrganizationScreen(OffersByRole, ShowsServiceState, ForwardsWorkerErrors, Screen[None]):
    TITLE = "Organization"
    WRITES = frozenset({"edit", "archive", "restore", "policy"})
    WRITE_BUTTONS = ("#change-policy",)
    AUTO_FOCUS = "#contracts-table"
    BINDINGS = [
        Binding("s", "show_archived", "Show or hide archived contracts", show=False),
        Binding("e", "edit", "Edit contract (owners)", show=False),
        Binding("x", "archive", "Archive contract (owners)", show=False),
        # r restores an archived contract for an owner, and reloads otherwise.
        Binding("r", "restore", "Restore contract (owners)", show=False),
        Binding("r", "reload", "Reload", show=False),
        Binding("l", "policy", "Change invitation policy (owners)", show=False),
    ]
    owner: reactive[bool] = reactive(False, bindings=True)

    def __init__(self) -> None:
        super().__init__()
        self.contracts: list[wire.Contract] = []
        self.programs: dict[int, str] = {}  # the names of the programs the admin sees
        self.policy: wire.InvitationPolicy | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="contracts-bar"):
            yield Label("Contracts", classes="subtitle")
            yield Checkbox("Show archived (s)", id="show-archived")
        yield DataTable(id="contracts-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="contract-detail")
        yield Label("", id="contracts-total")
        yield Label("Invitation policy", classes="subtitle")
        with Horizontal(id="policy-bar"):
            yield Label("", id="policy")
            yield Button("Change (l)", id="change-policy")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(
            "Contract", "Seats used", "Takes invitations", "Starts", "Ends", "Programs"
        )
        self.reload()

    def on_screen_resume(self) -> None:
        if self.is_mounted and self.policy is not None:  # shown again: the numbers as now
            self.reload()

    @work(exclusive=True, group="reload", exit_on_error=False)
    @never_hangs
    async def reload(self) -> None:
        client = await services(self).client()
        self.offer_by_role()
        archived = self.query_one("#show-archived", Checkbox).value
        contracts = (await client.organization_contracts()).items
        if archived:
            contracts += (await client.organization_contracts(archived=True)).items
        programs = {
            program.id: program.name
            for listed in (False, True)
            for program in (await client.programs(archived=listed)).items
        }
        policy = await client.policy()
        self.owner = (await client.me()).role == "owner"
        # Set with the contracts shown, no wait between: a page with a policy shows them too.
        self.policy = policy
        self._show(contracts, programs)

    def _show(self, contracts: list[wire.Contract], programs: dict[int, str]) -> None:
        table = self.query_one(DataTable)
        highlighted = self._highlighted()
        table.clear()
        self.contracts, self.programs = contracts, programs
        for contract in contracts:
            table.add_row(
                Text(contract.name, end=""),
                seats_text(contract),
                Text(status_text(contract), end=""),
                str(contract.starts_on or "-"),
                str(contract.ends_on or "-"),
                Text(self.covered(contract), end=""),
                key=str(contract.id),
            )
        ids = [contract.id for contract in contracts]
        if highlighted is not None and highlighted.id in ids:
            table.move_cursor(row=ids.index(highlighted.id))
        self._show_detail()
        keys = " · e edit · x archive · s archived, r restore · l policy" if self.owner else ""
        self.query_one("#contracts-total", Label).update(
            Content(plural(len(contracts), "contract") + keys)
        )
        assert self.policy is not None
        self.query_one("#policy", Label).update(Content(policy_text(self.policy)))
        button = self.query_one("#change-policy", Button)
        if not self.owner and not button.disabled:
            button.disabled = True
            relabel(button, "Change (owners only)")

    def covered(self, contract: wire.Contract) -> str:
        return ", ".join(self.programs[i] for i in contract.program_ids if i in self.programs)

    def _show_detail(self) -> None:
        """The highlighted contract's status and programs, which 80 columns cut off."""
        contract = self._highlighted()
        detail = Text(end="")
        if contract is not None:
            detail = Text(
                f"{contract.name}: {status_text(contract)} · {contract.starts_on or 'open start'}"
                f" – {contract.ends_on or 'no end date'} · programs: "
                f"{self.covered(contract) or 'none'}",
                end="",
            )
        self.query_one("#contract-detail", Static).update(detail)

    def _highlighted(self) -> wire.Contract | None:
        row = self.query_one(DataTable).cursor_row
        return self.contracts[row] if 0 <= row < len(self.contracts) else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("edit", "archive", "restore"):
            contract = self._highlighted() if self.owner else None
            if contract is None:
                return False
            archived = contract.archived_at is not None
            return archived if action == "restore" else not archived
        if action == "policy" and not self.owner:
            return False
        return super().check_action(action, parameters)

    @on(DataTable.RowHighlighted)
    def _moved(self) -> None:
        self._show_detail()
        self.refresh_bindings()  # archive or restore, as the contract is

    def action_reload(self) -> None:
        self.reload()

    @on(Checkbox.Changed, "#show-archived")
    def _archived_toggled(self) -> None:
        self.reload()

    def action_show_archived(self) -> None:
        checkbox = self.query_one("#show-archived", Checkbox)
        checkbox.value = not checkbox.value

    def action_edit(self) -> None:
        contract = self._highlighted()
        if contract is not None:
            self.app.push_screen(EditContract(contract), self._saved)

    def _saved(self, saved: object) -> None:
        if isinstance(saved, wire.Contract):
            self.notify(f"{saved.name}: saved.", markup=False)
        elif isinstance(saved, wire.InvitationPolicy):
            self.notify(f"Saved. {policy_text(saved)}", markup=False)
        if saved is not None:
            self.reload()

    def action_archive(self) -> None:
        contract = self._highlighted()
        if contract is None:
            return

        def answered(archive: bool | None) -> None:
            if archive:
                self.set_archived(contract, archived=True)

        self.app.push_screen(ArchiveContract(contract), answered)

    def action_restore(self) -> None:
        contract = self._highlighted()
        if contract is not None:
            self.set_archived(contract, archived=False)

    @work(exclusive=True, group="change", exit_on_error=False)
    @never_hangs
    async def set_archived(self, contract: wire.Contract, *, archived: bool) -> None:
        client = await services(self).client()
        try:
            await client.archive_contract(contract.id, restore=not archived)
        except ApiError as error:
            self.notify(error.problem.detail, severity="error", markup=False)
            return
        done = "archived: press s to show it, r to restore" if archived else "restored"
        self.notify(f"{contract.name}: {done}.", markup=False)
        self.reload()

    @on(Button.Pressed, "#change-policy")
    def action_policy(self) -> None:
        if self.policy is not None and self.owner:
            self.app.push_screen(EditPolicy(self.policy), self._saved)
