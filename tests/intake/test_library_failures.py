"""A failure inside a library (a Python exception or a native panic) ends in a report, never a
traceback; and the file that once made polars panic is checked as any other."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
