"""How a command prints what it did: a file's report, a list, a created record or a failure, as a
table for people or as JSON for scripts (--format); a list also as CSV, for a spreadsheet.
Every command prints through these, so the forms read, and parse, the same everywhere."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from tui.intake import LearnerFile
    from tui.outcome import Failure

Format = Literal["table", "json", "csv"]
FORMATS: tuple[Format, ...] = ("table", "json")
# What a list command takes (`print_list`): the forms above, and CSV.
LIST_FORMATS: tuple[Format, ...] = (*FORMATS, "csv")


def output_of(options: object) -> Format:
    """The --format a command was given; a command without the option prints tables."""
    chosen: Format = getattr(options, "format", "table")
    return chosen


def print_json(value: Any) -> None:
    """One JSON document on one line; dates and such as their text."""
    print(json.dumps(value, default=str))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Columns as wide as their widest cell, two spaces apart, no trailing spaces."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [
        max([len(header), *(len(row[i]) for row in cells)]) for i, header in enumerate(headers)
    ]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in cells:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def print_list(
    output: Format,
    items: Sequence[Any],
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    **more: Any,
) -> None:
    """A list: `{"items": [...], **more}` in JSON, the items as CSV (`write_csv`), else a table
    of `rows` under `headers`."""
    if output == "json":
        print_json({"items": list(items), **more})
    elif output == "csv":
        write_csv(items)
    else:
        print_table(headers, rows)


def csv_cell(value: object) -> str:
    """A value as a CSV cell: none is empty, a list or an object is its JSON, a moment its ISO
    text; a cell a spreadsheet would run as a formula is neutralized as the error file's are."""
    from tui.intake.export import neutralize

    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        text = json.dumps(value, ensure_ascii=False, default=str)
    elif isinstance(value, datetime | date):
        text = value.isoformat()
    else:
        text = str(value)
    return neutralize(text)


class CsvWriter:
    """Items as CSV, one at a time: a header row of the first item's keys, then one row per
    item (a streamed list never holds them all)."""

    def __init__(self, out: io.TextIOBase | None = None) -> None:
        self._writer = csv.writer(out or sys.stdout, lineterminator="\r\n")
        self._keys: list[str] | None = None
        self.written = 0

    def add(self, item: dict[str, Any]) -> None:
        if self._keys is None:
            self._keys = list(item)
            self._writer.writerow(self._keys)
        self._writer.writerow([csv_cell(item.get(key)) for key in self._keys])
        self.written += 1


def write_csv(items: Iterable[dict[str, Any]], out: io.TextIOBase | None = None) -> int:
    """The items as CSV on standard output (or `out`); how many rows were written."""
    writer = CsvWriter(out)
    for item in items:
        writer.add(item)
    return writer.written


def print_record(output: Format, record: dict[str, Any]) -> None:
    """One created record: a JSON object, or a `name: value` line per field."""
    if output == "json":
        print_json(record)
        return
    for key, value in record.items():
        print(f"{key}: {value}")


def print_report(learner_file: LearnerFile, output: Format) -> int:
    """A learner file's report (`roster check`): its JSON document, or the report for people,
    in color when standard output is a terminal that wants it. Returns the check's exit code.

    The report is made whole before any of it is printed: a failure while making it prints the
    report of that failure instead (tui.intake.safety), still one JSON document."""
    from tui.intake.safety import WRITING, guarded

    with guarded(WRITING, rows=learner_file.summary.rows) as guard:
        text = _report_text(learner_file, output)
    if guard.failure:
        from tui.intake import LearnerFile, Report

        report = Report(file=learner_file.summary.file, file_errors=[guard.failure])
        learner_file = LearnerFile(summary=report)
        # It has no issues to write from a frame: pydantic writes its JSON whole.
        json_text = report.model_dump_json() + "\n"
        text = json_text if output == "json" else _report_text(learner_file, output)
    if isinstance(text, str):
        sys.stdout.write(text)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(text.getbuffer())
    return learner_file.summary.exit_code


def _report_text(learner_file: LearnerFile, output: Format) -> str | io.BytesIO:
    """The report for people, or its JSON document as UTF-8 (made as bytes: a million issues
    are 180 MB)."""
    if output == "json":
        document = io.BytesIO()
        learner_file.write_report_json(document)
        return document
    from tui.intake.render import Style, render_report, use_color

    return render_report(learner_file, Style(use_color(sys.stdout)))


def print_warning(message: str) -> None:
    """Something the operator should know that stops nothing: a line on standard error, so the
    output (JSON too) stays what it is."""
    print(f"roster: warning: {message}", file=sys.stderr)


def report_failure(failure: Failure, output: Format) -> int:
    """Tell the failure the way the command's output asks, and return its exit code: a line on
    standard error, or with JSON one document on standard output."""
    if output == "json":
        print_json(failure.document())
    else:
        print(f"roster: {failure.message}", file=sys.stderr)
    return int(failure.exit_code)


@contextmanager
def writing_to(path: Path) -> Iterator[None]:
    """Around writing a new file the admin named: one that is there already, or a write that
    fails, is the refusal that says so (`file_exists`, `cannot_write`), never a traceback."""
    from tui.outcome import Failure

    try:
        yield
    except FileExistsError:
        raise Failure(
            "file_exists",
            f"{path} is there already; Roster does not write over a file. Name another one.",
            path=str(path),
        ) from None
    except OSError as error:
        raise Failure(
            "cannot_write", f"Cannot write {path}: {error.strerror}.", path=str(path)
        ) from None
