"""Choose a program, then a contract: searchable lists, one choice at a time, Continue."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from tui.screens.services import services
from tui.screens.worker_errors import ForwardsWorkerErrors, never_hangs
from tui.text import plural
from tui.widgets.footer import Footer
from tui.widgets.searchable_list import Item, SearchableList
from tui.wire import models as wire


class Picker(ForwardsWorkerErrors, ModalScreen[Any]):
    """A searchable list with Back and Continue; dismisses with the chosen object, or None."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("enter", "continue", "Continue"),
    ]
    title_text = ""
    hint = ""
    placeholder = ""

    def __init__(self) -> None:
        super().__init__()
        self.choices: dict[int, Any] = {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog picker"):
            yield Label(self.title_text, classes="title")
            yield Static(self.hint, classes="hint", markup=False)
            yield SearchableList(self.placeholder)
            with Horizontal(classes="buttons"):
                yield Button("Back", id="back")
                yield Button("Continue", id="continue", variant="primary", disabled=True)
        yield Footer()

    @on(SearchableList.Highlighted)
    def _highlighted(self, event: SearchableList.Highlighted) -> None:
        usable = event.item is not None and event.item.reason is None
        self.query_one("#continue", Button).disabled = not usable

    @on(SearchableList.Chosen)
    def _chosen(self, event: SearchableList.Chosen) -> None:
        if event.item.reason is None:
            self.dismiss(self.choices[event.item.id])

    @on(Button.Pressed, "#continue")
    def action_continue(self) -> None:
        item = self.query_one(SearchableList).highlighted
        if item is not None and item.reason is None:
            self.dismiss(self.choices[item.id])

    @on(Button.Pressed, "#back")
    def action_back(self) -> None:
        self.dismiss(None)


class ChooseProgram(Picker):
    title_text = "Choose a program"
    hint = "You can only select one program at a time. Type the program name to filter the list."
    placeholder = "Search programs"

    def on_mount(self) -> None:
        self.load()

    @work(exclusive=True, exit_on_error=False)
    @never_hangs
    async def load(self) -> None:
        client = await services(self).client()
        programs = (await client.programs()).items
        self.choices = {program.id: program for program in programs}
        self.query_one(SearchableList).set_items(
            [
                Item(
                    program.id,
                    program.name,
                    f"{plural(program.learners, 'learner')}, "
                    f"{plural(program.pending, 'pending invitation')}",
                )
                for program in programs
            ]
        )


def contract_detail(contract: wire.Contract) -> str:
    seats = (
        "Unlimited seats"
        if contract.seats_total is None
        else f"{contract.seats_left:,} of {plural(contract.seats_total, 'seat')} left"
    )
    dates = f"{contract.starts_on or 'open start'} – {contract.ends_on or 'no end date'}"
    return f"{seats} · {dates}"


class ChooseContract(Picker):
    title_text = "Choose a contract"
    placeholder = "Search contracts"

    def __init__(self, program: wire.Program) -> None:
        super().__init__()
        self.program = program
        self.hint = (
            f"Contracts for {program.name}. You can only select one contract at a time. "
            "Type the contract name to filter the list."
        )

    def on_mount(self) -> None:
        self.load()

    @work(exclusive=True, exit_on_error=False)
    @never_hangs
    async def load(self) -> None:
        client = await services(self).client()
        contracts = (await client.contracts(self.program.id)).items
        self.choices = {contract.id: contract for contract in contracts}
        self.query_one(SearchableList).set_items(
            [
                Item(
                    contract.id,
                    contract.name,
                    contract_detail(contract),
                    None if contract.available else contract.unavailable_reason,
                )
                for contract in contracts
            ]
        )
