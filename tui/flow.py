"""The bulk invitation flow: program -> contract -> upload -> preview -> progress -> completion.

A flow holds what was chosen so far and pushes each step on top of the home screen it started
from; escape in a step goes back one step. The steps never call the flow: the upload and the
preview post a message (`FileUploaded`, `CommitRequested`) that the app hands to the flow whose
step sent it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tui.wire import models as wire

if TYPE_CHECKING:
    import polars as pl
    from textual.app import App
    from textual.screen import Screen

    from tui.intake.learner_file import LearnerFile
    from tui.intake.limits import Limits
    from tui.intake.report import Report
    from tui.screens.messages import CommitRequested, FileUploaded


class BulkFlow:
    def __init__(
        self,
        app: App[Any],
        *,
        limits: Limits,
        close: Callable[[], None],
        program: wire.Program | None = None,
    ) -> None:
        """`close` ends the flow once its completion dialog is closed; `program` skips the
        program step (a program's own Invite learners)."""
        self.app = app
        self.limits = limits
        self.close = close
        self.program = program
        self.contract: wire.Contract | None = None
        self.preselected = program is not None
        # The upload and preview screens this flow pushed: their messages are this flow's.
        self._steps: weakref.WeakSet[Screen[Any]] = weakref.WeakSet()

    def owns(self, step: Screen[Any]) -> bool:
        return step in self._steps

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

        assert self.program and self.contract

        def back(_: None) -> None:
            self.choose_contract()

        step = UploadScreen(self.program, self.contract, self.limits)
        self._steps.add(step)
        self.app.push_screen(step, back)

    def file_uploaded(self, uploaded: FileUploaded) -> None:
        self.preview(uploaded.learner_file, uploaded.report, uploaded.frame)

    def preview(self, learner_file: LearnerFile, report: Report, frame: pl.DataFrame) -> None:
        from tui.screens.preview import PreviewScreen

        assert self.program and self.contract
        step = PreviewScreen(self.program, self.contract, learner_file, report, frame)
        self._steps.add(step)
        self.app.push_screen(step)

    def commit_requested(self, request: CommitRequested) -> None:
        from tui.screens.progress import CompletionDialog, ImportProgress

        assert self.program and self.contract

        def done(status: wire.ImportStatus | None) -> None:
            if progress.left:  # the import goes on; the Imports page follows it
                self.close()
                return
            if status is None:
                return
            self.app.push_screen(
                CompletionDialog(status, request.report, request.frame, request.learner_file.path),
                lambda _: self.close(),
            )

        progress = ImportProgress(
            self.program, self.contract, request.learner_file, request.choices
        )
        self.app.push_screen(progress, done)
