"""The bulk invitation flow: program -> contract -> upload -> preview -> progress -> completion.

The controller holds what was chosen so far and pushes each step on top of the home screen the
flow started from; escape in a step goes back one step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tui.wire import models as wire

if TYPE_CHECKING:
    import polars as pl

    from tui.api.importer import Choices
    from tui.app import RosterApp
    from tui.intake.learner_file import LearnerFile
    from tui.intake.report import Report


@dataclass
class BulkFlow:
    app: RosterApp
    origin: str
    program: wire.Program | None = None
    contract: wire.Contract | None = None

    def __post_init__(self) -> None:
        self.preselected = self.program is not None

    def start(self) -> None:
        if self.preselected:
            self.choose_contract()
        else:
            self.choose_program()

    def choose_program(self) -> None:
        from tui.screens.pickers import ChooseProgram

        def chosen(program: wire.Program | None) -> None:
            if program is not None:
                self.program = program
                self.choose_contract()

        self.app.push_screen(ChooseProgram(), chosen)

    def choose_contract(self) -> None:
        from tui.screens.pickers import ChooseContract

        assert self.program is not None

        def chosen(contract: wire.Contract | None) -> None:
            if contract is not None:
                self.contract = contract
                self.upload()
            elif not self.preselected:
                self.choose_program()

        self.app.push_screen(ChooseContract(self.program), chosen)

    def upload(self) -> None:
        from tui.screens.upload import UploadScreen

        def back(_: None) -> None:
            self.choose_contract()

        self.app.push_screen(UploadScreen(self), back)

    def preview(self, learner_file: LearnerFile, report: Report, frame: pl.DataFrame) -> None:
        from tui.screens.preview import PreviewScreen

        self.app.push_screen(PreviewScreen(self, learner_file, report, frame))

    def commit(
        self, learner_file: LearnerFile, report: Report, frame: pl.DataFrame, choices: Choices
    ) -> None:
        from tui.screens.progress import CompletionDialog, ImportProgress

        def done(status: wire.ImportStatus | None) -> None:
            if status is None:
                return
            self.app.push_screen(
                CompletionDialog(status, report, frame, learner_file.path),
                lambda _: self.app.return_to_origin(self.origin),
            )

        self.app.push_screen(ImportProgress(self, learner_file, choices), done)
