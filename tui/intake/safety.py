"""The last resort of everything that reads or checks a learner file: whatever fails inside -
Roster's own code, a library's exception, or a library's native panic - becomes a file error
that says what failed, how far it got and what to do, never a traceback.

A native panic reaches Python as `pyo3_runtime.PanicException` (polars' is
`pl.exceptions.PanicException`), which derives from BaseException: `except Exception` misses
it. `guarded` catches every BaseException but the ones that stop the program on purpose
(KeyboardInterrupt, SystemExit, GeneratorExit):

    with guarded("checking the rows") as guard:
        guard.rows = table.cells.height   # how far it got, for the message
        return check(table)
    return failed_report(guard.problem)   # reached only when the work failed

This module loads no polars: the app can guard its own workers with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tui.intake.report import Problem, quote
from tui.outcome import is_interrupt

READING = "reading the file"
CHECKING = "checking the rows"
WRITING = "writing the report"


@dataclass
class Guard:
    """How far the guarded work got - the `step` under way and the learner `rows` read so far
    (None before the rows are known) - and, once it failed, the `failure`."""

    step: str = READING
    rows: int | None = None
    failure: Problem | None = None

    @property
    def problem(self) -> Problem:
        """The file error of the failure (only asked for after one)."""
        if self.failure is None:
            raise RuntimeError("the guarded work did not fail")
        return self.failure


@contextmanager
def guarded(step: str = READING, rows: int | None = None) -> Iterator[Guard]:
    """Run the block; any failure but an interrupt ends it, and `guard.failure` says why."""
    guard = Guard(step=step, rows=rows)
    try:
        yield guard
    except BaseException as error:
        if is_interrupt(error):
            raise
        guard.failure = failure_problem(error, guard.step, guard.rows)


def failure_problem(error: BaseException, step: str, rows: int | None) -> Problem:
    """The file error for `error`, raised while `step` with `rows` learner rows read.

    Running out of memory is the file's size (`unreadable_file`); anything else is a fault in
    Roster or a library (`internal_error`), which the admin can only retry and report.
    """
    if isinstance(error, MemoryError):
        return unreadable("the file needs too much memory")
    reached = (
        "before any row was read"
        if rows is None
        else f"with {rows:,} learner row{'' if rows == 1 else 's'} read"
    )
    return Problem(
        code="internal_error",
        message=f"Roster failed while {step}, {reached}: {_described(error)}. This is a fault "
        "in Roster or a library it uses, not a verdict on the file, and nothing was sent. "
        "Check the file again; if it fails again, save the sheet as CSV (UTF-8) and check "
        "that, or report this message with the file.",
    )


def unreadable(why: str) -> Problem:
    """`unreadable_file`, for a file Roster cannot read as it is."""
    return Problem(
        code="unreadable_file",
        message=f"Roster could not read this file: {quote(why)}. Save the sheet again as CSV "
        "(UTF-8) and upload that; if it still fails, report it with the file.",
    )


def _described(error: BaseException) -> str:
    """'PanicException: assertion failed: i < self.len()': the kind and the first line."""
    kind = type(error).__name__
    lines = str(error).strip().splitlines()
    return quote(f"{kind}: {lines[0]}" if lines else kind)
