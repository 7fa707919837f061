"""Invite Learner: one learner, the same rules as a row of the file; then what became of it."""

from __future__ import annotations

import polars as pl
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Footer, Input, Label, Select, Static

from tui.api.client import ApiError
from tui.intake.fields import LEARNER_FIELDS
from tui.screens.pickers import contract_detail
from tui.screens.services import services
from tui.screens.worker_errors import ForwardsWorkerErrors, never_hangs
from tui.widgets.buttons import relabel
from tui.wire import models as wire
from tui.wire.models import MAX_MESSAGE

# The field a refusal is about, by its code: the rules name each code after its field
# (missing_full_name, external_id_conflict); any other refusal is about the email.
FIELD_OF_CODE = {
    code: field.name
    for field in LEARNER_FIELDS
    for code in (
        f"missing_{field.name}",
        f"invalid_{field.name}",
        f"{field.name}_too_long",
        f"duplicate_{field.name}",
        f"{field.name}_conflict",
    )
}


class InviteLearnerScreen(ForwardsWorkerErrors, ModalScreen[wire.Invitation | None]):
    """The form; dismissed with the invitation once the admin has seen what became of it."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Back"),
        Binding("tab", "app.focus_next", "Next field"),
    ]

    def __init__(self, program: wire.Program | None = None) -> None:
        super().__init__()
        self.program = program
        self.programs: dict[int, wire.Program] = {}
        self.contracts: dict[int, wire.Contract] = {}
        self._warned: dict[str, str] = {}  # the values whose warnings the admin has seen

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="invite-learner"):
            yield Label("Invite Learner", classes="title")
            for field in LEARNER_FIELDS:
                yield Label(field.label)
                yield Input(id=field.name, placeholder=field.example)
            yield Label("Program")
            yield Select[int]([], id="program", prompt="Choose a program")
            yield Label("Contract")
            yield Select[int]([], id="contract", prompt="Choose a contract")
            yield Label("Your message in the email (optional)")
            yield Input(
                id="message",
                max_length=MAX_MESSAGE,
                placeholder="Welcome aboard! Start with the first module this week.",
            )
            yield Checkbox("Send invitations to new members after import", True, id="send")
            yield Static("", id="form-error")
            with Horizontal(classes="buttons"):
                yield Button("Back", id="back")
                yield Button("Send invitation", id="invite", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(f"#{LEARNER_FIELDS[0].name}", Input).focus()
        self.load_programs()

    @work(exclusive=True, group="programs", exit_on_error=False)
    @never_hangs
    async def load_programs(self) -> None:
        client = await services(self).client()
        programs = (await client.programs()).items
        self.programs = {program.id: program for program in programs}
        select = self.query_one("#program", Select)
        select.set_options([(Text(program.name), program.id) for program in programs])
        if self.program is not None:
            select.value = self.program.id

    @on(Select.Changed, "#program")
    def _program_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, int):
            self.load_contracts(event.value)

    @work(exclusive=True, group="contracts", exit_on_error=False)
    @never_hangs
    async def load_contracts(self, program_id: int) -> None:
        client = await services(self).client()
        contracts = (await client.contracts(program_id)).items
        self.contracts = {contract.id: contract for contract in contracts if contract.available}
        select = self.query_one("#contract", Select)
        select.set_options(
            [(Text(f"{c.name} — {contract_detail(c)}"), c.id) for c in self.contracts.values()]
        )

    @on(Checkbox.Changed, "#send")
    def _send_changed(self, event: Checkbox.Changed) -> None:
        label = "Send invitation" if event.value else "Create invitation"
        relabel(self.query_one("#invite", Button), label)

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    @on(Button.Pressed, "#invite")
    def _invite(self) -> None:
        from tui.intake.rules import check_one_learner

        program = self.query_one("#program", Select).value
        contract = self.query_one("#contract", Select).value
        error = self.query_one("#form-error", Static)
        if not isinstance(program, int) or not isinstance(contract, int):
            error.update("Choose a program and a contract.")
            return
        typed = {
            field.name: self.query_one(f"#{field.name}", Input).value.strip()
            for field in LEARNER_FIELDS
        }
        learner, issues = check_one_learner(*typed.values())
        errors = [message for severity, message in issues if severity == "error"]
        warnings = [message for severity, message in issues if severity != "error"]
        if errors:
            error.update(Content("\n".join(f"✗ {message}" for message in errors)))
            return
        self.invite(program, contract, learner, warnings, typed)

    def _warn(self, warnings: list[str]) -> None:
        self.query_one("#form-error", Static).update(
            Content(
                "\n".join(f"! {message}" for message in warnings)
                + "\nPress enter again to invite anyway, or correct it."
            )
        )

    @work(exclusive=True, group="invite", exit_on_error=False)
    @never_hangs
    async def invite(
        self,
        program_id: int,
        contract_id: int,
        learner: pl.DataFrame,
        warnings: list[str],
        typed: dict[str, str],
    ) -> None:
        from tui.api.importer import check_csv, differing

        send = self.query_one("#send", Checkbox).value
        client = await services(self).client()
        if self._warned != typed:
            # The same warnings a file's row gets, the service's learner_differs among them
            # (a dry run of the one row); a second press invites anyway.
            try:
                checked = await client.check(program_id, contract_id, check_csv(learner))
            except ApiError as failure:
                self.query_one("#form-error", Static).update(f"✗ {failure.problem.detail}")
                return
            warnings = warnings + differing(checked.known, learner)["message"].to_list()
            if warnings:
                self._warned = typed
                self._warn(warnings)
                return
        # An optional field left empty is stored as no value, as a file's empty cell is.
        cells = {
            field.name: typed[field.name] if field.required else typed[field.name] or None
            for field in LEARNER_FIELDS
        }
        try:
            invitation = await client.invite(
                program_id,
                wire.InviteLearner.model_validate(
                    {
                        **cells,
                        "contract_id": contract_id,
                        "send_email": send,
                        "message": self.query_one("#message", Input).value or None,
                    }
                ),
            )
        except ApiError as failure:
            self.query_one("#form-error", Static).update(f"✗ {failure.problem.detail}")
            field = FIELD_OF_CODE.get(failure.code or "", "email")
            self.query_one(f"#{field}", Input).focus()
            return
        if send:
            invitation = await self._wait_for_email(invitation)
        self.app.push_screen(
            InvitationSent(invitation, sent=send), lambda _: self.dismiss(invitation)
        )

    async def _wait_for_email(self, invitation: wire.Invitation) -> wire.Invitation:
        import asyncio

        client = await services(self).client()
        for _ in range(100):
            if invitation.email_status in ("sent", "failed"):
                break
            await asyncio.sleep(0.1)
            page = await client.invitations(
                program_id=invitation.program_id, q=invitation.email, limit=5
            )
            invitation = next((i for i in page.items if i.id == invitation.id), invitation)
        return invitation


class InvitationSent(ModalScreen[None]):
    """What became of one invitation: who, where, and its email (sent, failed and why, or still
    queued); Close returns to where the form was opened."""

    BINDINGS = [
        Binding("enter", "close", "Close"),
        Binding("escape", "close", "Close", show=False),
    ]

    def __init__(self, invitation: wire.Invitation, *, sent: bool) -> None:
        """`sent`: the admin asked for the email to be sent."""
        super().__init__()
        self.invitation = invitation
        self.sent = sent

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="invitation-sent"):
            yield Label("Invitation created", classes="title")
            yield Static(invitation_text(self.invitation, sent=self.sent), id="invitation-text")
            with Horizontal(classes="buttons"):
                yield Button("Close", id="close", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)


def invitation_text(invitation: wire.Invitation, *, sent: bool) -> Content:
    """The invitation in a few lines; the learner's and the service's values shown as text."""
    lines = [
        Content.from_markup(
            "[b]$who[/b] is invited to [b]$program[/b], on the contract $contract, until $until.",
            who=f"{invitation.full_name} <{invitation.email}>",
            program=invitation.program_name,
            contract=invitation.contract_name,
            until=f"{invitation.expires_at.astimezone():%Y-%m-%d}",
        )
    ]
    if not sent:
        lines.append(Content("No email was sent: the invitation was created without one."))
    elif invitation.email_status == "sent":
        lines.append(Content("The invitation email was sent."))
    elif invitation.email_status == "failed":
        lines.append(
            Content.from_markup(
                "[red]The invitation email failed:[/red] $error\nOnce the cause is fixed, send it "
                "again: roster invitations resend $id",
                error=invitation.email_error or "not sent",
                id=str(invitation.id),
            )
        )
    else:
        lines.append(
            Content(
                "The invitation email is still queued"
                + (f" ({invitation.email_error[:80]})" if invitation.email_error else "")
                + ": Roster keeps sending it while it runs."
            )
        )
    return Content("\n").join(lines)
