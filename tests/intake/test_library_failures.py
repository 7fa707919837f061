"""A failure inside a library (a Python exception or a native panic) ends in a report, never a
traceback; and the file that once made polars panic is checked as any other."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import polars as pl
import pytest

from tests.intake.conftest import WriteFile
from tui.intake import learner_file, read_learner_file
from tui.intake.safety import CHECKING, guarded

# The smallest file found that made polars 2.1 panic in `roster check` (on 2 threads): the
# too_many_fields row sends it to the reference reader, whose table polars splits into one
# chunk per thread; the blank rows, dropped from the first chunk only, leave the chunks of
# unequal length; and pl.format's kernel, building the formula_like messages of the second
# chunk's rows, indexed past an array's end ("assertion failed: i < self.len()").
FORMAT_PANIC_FILE = """\
Full Name,Email,External ID
,,
,,
,,
"Learner 3",learner3@example.com,ID3,extra
"=HYPERLINK(""x"")",learner4@example.com,ID4
"=HYPERLINK(""x"")",learner5@example.com,ID5
"Learner 6",learner6@example.com,ID6
"Learner 7",learner7@example.com,ID7
"""


def test_the_file_that_made_polars_panic_gets_its_report(tmp_path: Path) -> None:
    path = tmp_path / "learners.csv"
    path.write_text(FORMAT_PANIC_FILE)
    # The chunks, and so the panic, depend on polars' thread count: 2, as where it was found.
    env = {**os.environ, "POLARS_MAX_THREADS": "2", "NO_COLOR": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "tui", "check", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert "Panic" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert (report["rows"], report["ready"], report["errors"]) == (5, 4, 1)
    assert report["blank_rows_skipped"] == 3
    assert report["file_errors"] == []
    assert [(issue["row"], issue["code"], issue["message"]) for issue in report["issues"]] == [
        (
            5,
            "too_many_fields",
            "The row has a value in column 4, beyond the header's 3 columns; "
            "a value that holds the delimiter needs quotes.",
        ),
        (
            6,
            "formula_like",
            'Full Name starts with "=", which a spreadsheet may run as a formula; '
            "Roster keeps it as text.",
        ),
        (
            7,
            "formula_like",
            'Full Name starts with "=", which a spreadsheet may run as a formula; '
            "Roster keeps it as text.",
        ),
    ]


def _panics(*_: object, **__: object) -> NoReturn:
    raise pl.exceptions.PanicException("assertion failed: i < self.len()")


def _raises(*_: object, **__: object) -> NoReturn:
    raise RuntimeError("the rules broke")


@pytest.mark.parametrize(
    ("failure", "described"),
    [
        (_panics, "PanicException: assertion failed: i < self.len()"),
        (_raises, "RuntimeError: the rules broke"),
    ],
)
def test_a_panic_or_an_exception_in_the_rules_is_an_internal_error_saying_how_far_it_got(
    write_file: WriteFile,
    monkeypatch: pytest.MonkeyPatch,
    failure: Callable[..., NoReturn],
    described: str,
) -> None:
    path = write_file(
        ["Full Name,Email,External ID", "Ann,ann@example.com,", "", "Bo,bo@example.com,"]
    )
    monkeypatch.setattr(learner_file, "check_learners", failure)
    result = read_learner_file(path)
    report = result.report
    assert report.exit_code == 2
    assert (report.rows, report.issues) == (0, [])
    [problem] = report.file_errors
    assert problem.code == "internal_error"
    assert problem.message.startswith(
        f"Roster failed while checking the rows, with 2 learner rows read: {described}. "
    )
    assert "nothing was sent" in problem.message
    assert "report this message with the file" in problem.message


def test_a_failure_before_the_rows_are_read_says_so(
    write_file: WriteFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_file(["Full Name,Email,External ID", "Ann,ann@example.com,"])
    monkeypatch.setattr(learner_file, "read_csv_table", _panics)
    [problem] = read_learner_file(path).report.file_errors
    assert problem.code == "internal_error"
    assert problem.message.startswith(
        "Roster failed while reading the file, before any row was read: PanicException"
    )


def test_running_out_of_memory_is_still_unreadable_file(
    write_file: WriteFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_memory(*_: object, **__: object) -> NoReturn:
        raise MemoryError

    path = write_file(["Full Name,Email,External ID", "Ann,ann@example.com,"])
    monkeypatch.setattr(learner_file, "check_learners", no_memory)
    [problem] = read_learner_file(path).report.file_errors
    assert problem.code == "unreadable_file"
    assert "needs too much memory" in problem.message


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit])
def test_an_interrupt_is_not_turned_into_a_report(
    write_file: WriteFile, monkeypatch: pytest.MonkeyPatch, interrupt: type[BaseException]
) -> None:
    def stop(*_: object, **__: object) -> NoReturn:
        raise interrupt

    path = write_file(["Full Name,Email,External ID", "Ann,ann@example.com,"])
    monkeypatch.setattr(learner_file, "check_learners", stop)
    with pytest.raises(interrupt):
        read_learner_file(path)


def test_guarded_leaves_a_block_that_did_not_fail_alone() -> None:
    with guarded(CHECKING, rows=5) as guard:
        done = True
    assert done and guard.failure is None
    with guarded(CHECKING, rows=5) as guard:
        _panics()
    assert guard.problem.code == "internal_error"
    assert "checking the rows, with 5 learner rows read" in guard.problem.message
