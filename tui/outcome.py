"""How a command ends: the exit codes (the one table the README lists) and the Failure that
stops it. The app, the commands and the service's start share them; the commands tell a Failure
the way their output asks (tui.cli.output)."""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class Exit(IntEnum):
    OK = 0  # done
    ROW_ERRORS = 1  # done, but rows with errors were left out, or emails failed
    USAGE = 2  # nothing done: bad usage, a bad setting or data directory, or a file error
    REFUSED = 3  # nothing done: the service refused (seats, contract, token, conflict)
    UNREACHABLE = 4  # nothing done: the service could not be reached
    STORAGE = 5  # nothing done: the disk under the database is full, read-only or failing
    TAMPERED = 6  # the audit record is not whole: an entry was changed or removed


# The exceptions that end the program on purpose: never turned into a report or a message.
INTERRUPTS = (KeyboardInterrupt, SystemExit, GeneratorExit)


def is_interrupt(error: BaseException) -> bool:
    """Whether `error` stops the program on purpose (Ctrl+C, exit), rather than failing it."""
    return isinstance(error, INTERRUPTS)


class Failure(Exception):
    """Why a command did nothing: a stable `code`, a message for people, details for scripts."""

    def __init__(
        self, code: str, message: str, exit_code: Exit = Exit.USAGE, **details: Any
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.exit_code = exit_code
        self.details = {key: value for key, value in details.items() if value is not None}

    def document(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.details}}
