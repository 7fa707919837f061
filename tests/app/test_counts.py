"""One file of every kind of row, through the app and the command line: every place that counts
the rows (the preview's summary and filters, Import complete, the Imports page, `roster
imports`, `roster imports show` as text and JSON, `roster imports results`) gives the same
counts in the same words (tui.intake.counts)."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import DataTable

from tests.app.conftest import (
    ENTERPRISE,
    complete,
    learner_file,
    on_screen,
    text_of,
    to_preview,
    until,
)
from tui.app import RosterApp
from tui.screens.imports import ImportsScreen
from tui.screens.preview import PreviewScreen
from tui.widgets.preview_rows import PreviewRows

pytestmark = pytest.mark.anyio

MIXED = (
    "Ann Lee,ann.lee@example.org,A-1",  # row 2: ready
    "Bob Ray,bob.ray@gmial.com,",  # row 3: ready, with a warning (a likely typo)
    "Cy Young,cy.young@example.org,=1+2",  # row 4: ready, with a warning (a formula)
    ",no.name@example.org,",  # row 5: error (no name)
    "Ann Again,ANN.LEE@example.org,A-2",  # row 6: error (row 2's learner again)
    "Dee Ray,dee.ray@example,",  # row 7: error (no domain)
    "Old Timer,old.timer@example.org,",  # row 8: skipped (invited by an earlier import)
    "Lou Left,lou.left@example.org,",  # row 9: left out with d on the preview
    "Eve Park,eve.park@example.org,",  # row 10: ready
)
EXPECTED = {"ready": 4, "warnings": 2, "errors": 3, "skipped": 1, "left_out": 1}
# The words of each count after its number, as every screen and command writes them.
WORDS = {
    "ready": r"(?:ready|invited)",
    "warnings": r"with warnings",
    "errors": r"with errors",
    "skipped": r"skipped",
    "left_out": r"left out",
}


def counted(text: str) -> dict[str, int]:
    """The counts a line of text names: "4 ready (2 with warnings) · 3 with errors · ..."."""
    found = {}
    for key, words in WORDS.items():
        match = re.search(rf"([\d,]+) (?:\w+ )?{words}", text)
        if match:
            found[key] = int(match.group(1).replace(",", ""))
    return found


def cli(data_dir: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tui", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={"NO_COLOR": "1", "COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode in (0, 1), done.stderr
    return done.stdout


async def test_every_count_of_a_mixed_file_is_the_same_everywhere(
    app: RosterApp, data_dir: Path, tmp_path: Path
) -> None:
    earlier = learner_file(tmp_path, "Old Timer,old.timer@example.org,", name="earlier.csv")
    program = ("--program", "Inclusive Hiring", "--contract", ENTERPRISE)
    cli(data_dir, "import", str(earlier), *program, "--yes", "--no-send")
    path = learner_file(tmp_path, *MIXED)
    seen: dict[str, dict[str, int]] = {}

    async with app.run_test(size=(160, 40)) as pilot:
        await to_preview(pilot, path)
        preview = pilot.app.screen
        assert isinstance(preview, PreviewScreen)
        rows = preview.query_one(PreviewRows)
        await until(pilot, lambda: rows.table.row_count == len(MIXED))
        await pilot.press(*["down"] * 7, "d")  # row 9
        await until(pilot, lambda: "left out" in text_of(pilot, "#summary"))
        assert rows.table.row_count == len(MIXED)  # the row stays, marked
        assert rows.table.frame.filter(rows.table.frame["row"] == 9)["status"][0] == "left_out"
        seen["Preview summary"] = counted(text_of(pilot, "#summary"))
        filters = {}
        for _ in range(len(EXPECTED) + 1):  # all rows, rows with issues, then one per count
            await pilot.press("f")
            label = text_of(pilot, "#filter")
            for key, name in (
                ("ready", "ready rows"),
                ("warnings", "rows with warnings"),
                ("errors", "rows with errors"),
                ("skipped", "skipped rows"),
                ("left_out", "rows left out"),
            ):
                if f"Showing {name} (" in label:
                    filters[key] = int(label.split(f"Showing {name} (")[1].split(")")[0])
        seen["Preview filters (f)"] = filters

        completion = await complete(pilot)
        rows_line = next(line for line in completion.splitlines() if line.startswith("Rows: "))
        seen["Import complete"] = counted(rows_line)
        assert f"{EXPECTED['ready']} invitations created." in completion
        await until(pilot, lambda: "are in" in text_of(pilot, "#completion-text"))
        await pilot.press("enter")
        await pilot.press("h")
        await on_screen(pilot, ImportsScreen)
        table = pilot.app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 2)
        cells = [str(cell) for cell in table.get_row_at(0)]
        columns = [str(column.label) for column in table.columns.values()]
        row = dict(zip(columns, cells, strict=True))
        page = {
            "ready": int(row["Invited"]),
            "errors": int(row["Errors"]),
            "skipped": int(row["Skipped"]),
            "left_out": int(row["Left out"]),
        }
        seen["Imports page"] = {**counted(text_of(pilot, "#import-detail")), **page}

    listing = json.loads(cli(data_dir, "imports", "--format", "json"))["items"][0]
    import_id = listing["id"]
    shown = json.loads(cli(data_dir, "imports", "show", str(import_id), "--format", "json"))
    seen["roster imports --format json"] = {
        "ready": listing["invited"],
        "warnings": listing["warnings"],
        "errors": listing["errors"],
        "skipped": sum(listing["skipped"].values()),
        "left_out": listing["left_out"],
    }
    seen["roster imports show --format json"] = {
        "ready": shown["invited"],
        "warnings": shown["warnings"],
        "errors": shown["errors"],
        "skipped": sum(shown["skipped"].values()),
        "left_out": shown["left_out"],
    }
    seen["roster imports show"] = counted(cli(data_dir, "imports", "show", str(import_id)))
    header, newest = cli(data_dir, "imports").splitlines()[:2]

    def column(name: str) -> int:
        """The number under `name` in the table (its columns start where their headers do)."""
        start = header.index(name)
        return int(newest[start:].split()[0])

    seen["roster imports (table)"] = {
        "ready": column("INVITED"),
        "warnings": column("WARNINGS"),
        "errors": column("ERRORS"),
        "skipped": column("SKIPPED"),
        "left_out": column("LEFT OUT"),
    }
    results = list(csv.DictReader(io.StringIO(cli(data_dir, "imports", "results", str(import_id)))))
    outcomes = [result["Outcome"] for result in results]
    seen["roster imports results"] = {
        "ready": outcomes.count("invited"),
        "errors": outcomes.count("error"),
        "skipped": outcomes.count("skipped"),
        "left_out": outcomes.count("left_out"),
    }
    saved = tmp_path / "not-invited.csv"
    cli(data_dir, "imports", "show", str(import_id), "--left-out", str(saved))
    with saved.open(encoding="utf-8-sig", newline="") as file:
        kept = {row["Email"]: row["Error"] for row in csv.DictReader(file)}
    assert kept["lou.left@example.org"] == "Row 9: Left out by the admin."
    assert len(kept) == EXPECTED["errors"] + EXPECTED["skipped"] + EXPECTED["left_out"]

    print("\n".join(f"{where}: {counts}" for where, counts in seen.items()))
    for where, counts in seen.items():
        assert counts == {key: EXPECTED[key] for key in counts}, where
        assert set(counts) >= {"ready", "errors", "skipped", "left_out"}, where
