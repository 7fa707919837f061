"""Invite Learner: one learner, the same rules as a row of the file; then what became of it."""

from __future__ import annotations

import polars as pl
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from tui.api.client import ApiError
from tui.intake.fields import LEARNER_FIELDS
from tui.screens.pickers import contract_detail
from tui.screens.services import services
from tui.screens.worker_errors import ForwardsWorkerErrors, never_hangs
from tui.widgets.buttons import relabel
from tui.widgets.footer import Footer
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


class LearnerInput(Input):
    """A learner's field. A pasted line with tabs (a spreadsheet's row: name, email, External
    ID) fills this field and the next ones, a cell each, as typing them with tab between would."""

    class PastedCells(Message):
        def __init__(self, field: Input, cells: list[str]) -> None:
            super().__init__()
            self.field = field
            self.cells = cells

    def _on_paste(self, event: events.Paste) -> None:
        line = event.text.splitlines()[0] if event.text else ""
        if "\t" in line:
            event.prevent_default()
            event.stop()
            self.post_message(self.PastedCells(self, line.split("\t")))


class InviteLearnerScreen(ForwardsWorkerErrors, ModalScreen[wire.Invitation | None]):
    """The form; dismissed with the invitation once the admin has seen what became of it."""

    TITLE = "Invite Learner"

    DEFAULT_CSS = """
    #invite-learner .form-row { height: auto; }
    #invite-learner .form-row > Label { width: 23; padding-top: 1; }
    #invite-learner .form-row > Input, #invite-learner .form-row > Select { width: 1fr; }
    #invite-learner .field-error { display: none; color: $error; margin-left: 23; }
    #invite-learner .field-error.-shown { display: block; }
    InviteLearnerScreen.-short #invite-learner .form-row > Label { padding-top: 0; }
    #invite-learner #form-error { display: none; }
    #invite-learner #form-error.-shown { display: block; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back"),
        # Before the focused field (priority): keys typed right after tab go to the next field,
        # never to the one tab left, however fast they come.
        Binding("tab", "app.focus_next", "Next field", priority=True),
        Binding("shift+tab", "app.focus_previous", "Previous field", show=False, priority=True),
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
            # A field's label beside it and its error under it, so that the form fits 80x24.
            for field in LEARNER_FIELDS:
                with Horizontal(classes="form-row"):
                    yield Label(field.label)
                    yield LearnerInput(id=field.name, placeholder=field.example)
                yield Static("", id=f"{field.name}-error", classes="field-error")
            for name, label in (("program", "Program"), ("contract", "Contract")):
                with Horizontal(classes="form-row"):
                    yield Label(label)
                    yield Select[int]([], id=name, prompt=f"Choose a {name}")
                yield Static("", id=f"{name}-error", classes="field-error")
            with Horizontal(classes="form-row"):
                yield Label("Message (optional)")
                yield Input(
                    id="message",
                    max_length=MAX_MESSAGE,
                    placeholder="Your words in the email: Welcome aboard!",
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

    @on(LearnerInput.PastedCells)
    def _pasted_cells(self, message: LearnerInput.PastedCells) -> None:
        """A row pasted with tabs: a cell into each field from the one pasted into on."""
        names = [field.name for field in LEARNER_FIELDS]
        fields = names[names.index(str(message.field.id)) :]
        for name, cell in zip(fields, message.cells, strict=False):
            entry = self.query_one(f"#{name}", Input)
            entry.value = cell.strip()
            entry.cursor_position = len(entry.value)
            entry.focus()

    @property
    def filled(self) -> bool:
        """Something typed in the form: leaving it asks first."""
        return any(entry.value.strip() for entry in self.query(Input))

    @on(Button.Pressed, "#back")
    def action_back(self) -> None:
        if not self.filled:
            self.dismiss(None)
            return

        def answered(leave: bool | None) -> None:
            if leave:
                self.dismiss(None)

        self.app.push_screen(LeaveForm(), answered)

    def show_errors(self, errors: dict[str, str]) -> None:
        """Each error under its field (`errors`: field id to message; "" for the form's own
        line); the first field at fault takes the focus."""
        for line in self.query(".field-error").results(Static):
            text = errors.get(str(line.id).removesuffix("-error"), "")
            line.update(Content(f"✗ {text}" if text else ""))
            line.set_class(bool(text), "-shown")
        self._say(errors.get("", ""))
        at_fault = [name for name in errors if name]
        if at_fault:
            self.query_one(f"#{at_fault[0]}").focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#invite")
    def _invite(self) -> None:
        from tui.intake.rules import check_one_learner

        program = self.query_one("#program", Select).value
        contract = self.query_one("#contract", Select).value
        typed = {
            field.name: self.query_one(f"#{field.name}", Input).value.strip()
            for field in LEARNER_FIELDS
        }
        learner, issues = check_one_learner(*typed.values())
        field_of_header = {field.header: field.name for field in LEARNER_FIELDS}
        errors: dict[str, str] = {}
        for severity, header, message in issues:
            if severity == "error":
                name = field_of_header.get(header, LEARNER_FIELDS[0].name)
                errors[name] = "\n".join(filter(None, (errors.get(name), message)))
        if not isinstance(program, int):
            errors["program"] = "Choose a program."
        if not isinstance(contract, int):
            errors["contract"] = "Choose a contract."
        self.show_errors(errors)
        if errors or not isinstance(program, int) or not isinstance(contract, int):
            return
        warnings = [message for severity, _, message in issues if severity != "error"]
        self.invite(program, contract, learner, warnings, typed)

    def _say(self, text: str) -> None:
        """The form's own line, above the buttons (hidden while empty)."""
        line = self.query_one("#form-error", Static)
        line.update(Content(text))
        line.set_class(bool(text), "-shown")

    def _warn(self, warnings: list[str]) -> None:
        self._say(
            "\n".join(f"! {message}" for message in warnings)
            + "\nPress enter again to invite anyway, or correct it."
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
                self.show_errors({"": f"✗ {failure.problem.detail}"})
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
            self.show_errors(
                {FIELD_OF_CODE.get(failure.code or "", "email"): failure.problem.detail}
            )
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


class LeaveForm(ModalScreen[bool]):
    """'Leave the form?': what was typed is lost; answered True (leave) or False. Stay has
    the focus."""

    BINDINGS = [Binding("escape", "dismiss(False)", "Stay")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="leave-form"):
            yield Label("Leave the form?", classes="title")
            yield Static("What you typed is not kept: no invitation is made.")
            with Horizontal(classes="buttons"):
                yield Button("Stay", id="stay", variant="primary")
                yield Button("Leave", id="leave", variant="error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()

    @on(Button.Pressed, "#leave")
    def _leave(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#stay")
    def _stay(self) -> None:
        self.dismiss(False)


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
