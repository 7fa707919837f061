"""What the service's domain functions raise when they refuse: nothing was written, and
`errors.py` answers each as problem+json."""

from __future__ import annotations

from typing import Literal

from tui.intake.report import Problem

# Why one learner cannot be invited: the contract cannot take them (a file error of an import),
# their own data breaks a row rule, or the program already has them (a skip code).
RefusedFor = Literal["file_error", "row_error", "skipped"]


class InviteRefused(Exception):
    """One learner cannot be invited: every reason (`errors`), the first one being the `code`
    and `message`, and the contract's seats left when it is the contract that refuses."""

    def __init__(
        self, why: RefusedFor, errors: list[Problem], *, seats_left: int | None = None
    ) -> None:
        super().__init__(errors[0].message)
        self.why = why
        self.code = errors[0].code
        self.message = errors[0].message
        self.errors = errors
        self.seats_left = seats_left
