"""Invite Learner: one learner, the same rules as a row of the file, the same completion dialog."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Footer, Input, Label, Select, Static

from tui.api.client import ApiError
from tui.intake.report import Report
from tui.screens.pickers import contract_detail
from tui.screens.roster_app import roster_app
from tui.screens.worker_errors import ForwardsWorkerErrors
from tui.wire import models as wire
from tui.wire.models import MAX_MESSAGE

FIELD_OF_CODE = {
    "missing_full_name": "full_name",
    "invalid_full_name": "full_name",
    "full_name_too_long": "full_name",
    "external_id_conflict": "external_id",
    "external_id_too_long": "external_id",
    "invalid_external_id": "external_id",
}


class InviteLearnerScreen(ForwardsWorkerErrors, ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Back"),
        Binding("tab", "app.focus_next", "Next field"),
    ]

    def __init__(self, program: wire.Program | None = None) -> None:
        super().__init__()
        self.program = program
        self.programs: dict[int, wire.Program] = {}
        self.contracts: dict[int, wire.Contract] = {}
        self.origin = ""
        self._warned: tuple[str, ...] = ()  # the values whose warnings the admin has seen

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="invite-learner"):
            yield Label("Invite Learner", classes="title")
            yield Label("Full Name")
            yield Input(id="full_name", placeholder="Ann Lee")
            yield Label("Email")
            yield Input(id="email", placeholder="ann.lee@example.com")
            yield Label("External ID (optional)")
            yield Input(id="external_id")
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
        self.origin = self.app.current_mode
        self.query_one("#full_name", Input).focus()
        self.load_programs()

    @work(exclusive=True, group="programs", exit_on_error=False)
    async def load_programs(self) -> None:
        client = await roster_app(self).client()
        programs = (await client.programs()).items
        self.programs = {program.id: program for program in programs}
        select = self.query_one("#program", Select)
        select.set_options([(program.name, program.id) for program in programs])
        if self.program is not None:
            select.value = self.program.id

    @on(Select.Changed, "#program")
    def _program_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, int):
            self.load_contracts(event.value)

    @work(exclusive=True, group="contracts", exit_on_error=False)
    async def load_contracts(self, program_id: int) -> None:
        client = await roster_app(self).client()
        contracts = (await client.contracts(program_id)).items
        self.contracts = {contract.id: contract for contract in contracts if contract.available}
        select = self.query_one("#contract", Select)
        select.set_options(
            [(f"{c.name} — {contract_detail(c)}", c.id) for c in self.contracts.values()]
        )

    @on(Checkbox.Changed, "#send")
    def _send_changed(self, event: Checkbox.Changed) -> None:
        label = "Send invitation" if event.value else "Create invitation"
        self.query_one("#invite", Button).label = label

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
        typed = tuple(
            self.query_one(f"#{key}", Input).value.strip()
            for key in ("full_name", "email", "external_id")
        )
        learner, issues = check_one_learner(*typed)
        errors = [message for severity, message in issues if severity == "error"]
        warnings = [message for severity, message in issues if severity != "error"]
        if errors:
            error.update("\n".join(f"✗ {escape(message)}" for message in errors))
            return
        self.invite(program, contract, learner, warnings, typed)

    def _warn(self, warnings: list[str]) -> None:
        self.query_one("#form-error", Static).update(
            "\n".join(f"! {escape(message)}" for message in warnings)
            + "\nPress enter again to invite anyway, or correct it."
        )

    @work(exclusive=True, group="invite", exit_on_error=False)
    async def invite(
        self,
        program_id: int,
        contract_id: int,
        learner: pl.DataFrame,
        warnings: list[str],
        typed: tuple[str, ...],
    ) -> None:
        from tui.api.importer import check_csv, differing
        from tui.screens.progress import CompletionDialog

        value = dict(zip(("full_name", "email", "external_id"), typed, strict=True))
        send = self.query_one("#send", Checkbox).value
        client = await roster_app(self).client()
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
        try:
            invitation = await client.invite(
                program_id,
                wire.InviteLearner(
                    full_name=value["full_name"],
                    email=value["email"],
                    external_id=value["external_id"] or None,
                    contract_id=contract_id,
                    send_email=send,
                    message=self.query_one("#message", Input).value or None,
                ),
            )
        except ApiError as failure:
            self.query_one("#form-error", Static).update(f"✗ {failure.problem.detail}")
            field = FIELD_OF_CODE.get(failure.code or "", "email")
            self.query_one(f"#{field}", Input).focus()
            return
        if send:
            invitation = await self._wait_for_email(invitation)
        status = wire.ImportStatus(
            id=0,
            status="committed",
            program_id=program_id,
            contract_id=contract_id,
            send_emails=send,
            file_name="",
            rows=1,
            chunks=0,
            invited=1,
            skipped={},
            errors=0,
            emails_queued=1 if send else 0,
            emails_sent=int(invitation.email_status == "sent"),
            emails_failed=int(invitation.email_status == "failed"),
            created_at=datetime.now(UTC),
            committed_at=datetime.now(UTC),
        )
        origin = self.origin
        failed = [invitation] if invitation.email_status == "failed" else []
        report = Report(file="", rows=1, ready=1)
        dialog = CompletionDialog(status, report, pl.DataFrame(), None, failed=failed)
        self.app.push_screen(dialog, lambda _: roster_app(self).return_to_origin(origin))

    async def _wait_for_email(self, invitation: wire.Invitation) -> wire.Invitation:
        import asyncio

        client = await roster_app(self).client()
        for _ in range(100):
            if invitation.email_status in ("sent", "failed"):
                break
            await asyncio.sleep(0.1)
            page = await client.invitations(
                program_id=invitation.program_id, q=invitation.email, limit=5
            )
            invitation = next((i for i in page.items if i.id == invitation.id), invitation)
        return invitation
