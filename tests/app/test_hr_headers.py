"""A file with HR's headers reaches the preview, which says which column became which field."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.conftest import text_of, to_preview
from tui.app import RosterApp

pytestmark = pytest.mark.anyio


async def test_hr_headers_reach_the_preview_naming_their_columns(
    app: RosterApp, tmp_path: Path
) -> None:
    path = tmp_path / "hr.csv"
    # "[Name]" is the alias Name to the header match, and markup to a careless widget.
    path.write_text("[Name],Work Email,Employee ID\nAnn Lee,ann@example.org,E-1\n")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_preview(pilot, path)
        summary = text_of(pilot, "#summary")
        assert "1 ready" in summary
        assert (
            "Columns: Full Name ← [Name], Email ← Work Email, External ID ← Employee ID"
        ) in summary
