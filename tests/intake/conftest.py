"""Helpers that write learner files the way real tools save them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tui.intake import LearnerFile, read_learner_file

WriteFile = Callable[..., Path]


@pytest.fixture
def write_file(tmp_path: Path) -> WriteFile:
    """Write `lines` joined by `line_end` in `encoding` (with `bom`), return the path."""

    def write(
        lines: list[str],
        *,
        name: str = "learners.csv",
        encoding: str = "utf-8",
        line_end: str = "\n",
        bom: bytes = b"",
        trailing_line_end: bool = True,
    ) -> Path:
        text = line_end.join(lines) + (line_end if trailing_line_end else "")
        path = tmp_path / name
        path.write_bytes(bom + text.encode(encoding))
        return path

    return write


def codes_by_row(learner_file: LearnerFile) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for issue in learner_file.report.issues:
        found.setdefault(issue.row, []).append(issue.code)
    return found


def read(path: Path) -> LearnerFile:
    return read_learner_file(path)
